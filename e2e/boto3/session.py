#!/usr/bin/env python3
"""A realistic Chime SDK messaging session, driven by unmodified boto3.

Run against a Belfry server:

    BELFRY_ENDPOINT=http://127.0.0.1:8080 python3 e2e/boto3/session.py

It walks: an app instance, an AppInstanceAdmin, users with e-mail ids, a Lex
bot, a PUBLIC and a PRIVATE channel, single and batch membership (with a
partial failure), a HIDDEN member, a ban, a conversation (several members
send, edit, redact and page through history both ways; a non-member reads the
PUBLIC channel and is refused the PRIVATE one), a user's channel list
paged over 60 channels, and an elastic channel (subchannels assigned by a
batch, ListSubChannels, a moderator joining a subchannel by SubChannelId,
messages in a subchannel). Every step is checked with assert; any failure exits non-zero.
The e2e test TestBoto3Session runs it against the built binary.
"""

import datetime
import os
import sys
import traceback
import uuid

import boto3
from botocore.config import Config

ACCOUNT = "123456789012"
LEX_ALIAS = "arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST"


def clients(endpoint):
    session = boto3.session.Session(
        aws_access_key_id=ACCOUNT,
        aws_secret_access_key="belfry-secret",
        region_name="us-east-1",
    )
    # One attempt only: a retried 5xx must not hide a server bug.
    cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    ident = session.client("chime-sdk-identity", endpoint_url=endpoint, config=cfg)
    msg = session.client("chime-sdk-messaging", endpoint_url=endpoint, config=cfg)
    return ident, msg


def expect_error(client, name, status, fn, **kwargs):
    """Calls fn(**kwargs), which must raise client.exceptions.<name> with the
    given HTTP status; returns the exception."""
    cls = getattr(client.exceptions, name)
    try:
        fn(**kwargs)
    except cls as e:
        err = e.response["Error"]
        assert err["Code"] == name, f"{fn.__name__}: error code {err['Code']!r}, want {name!r}"
        got = e.response["ResponseMetadata"]["HTTPStatusCode"]
        assert got == status, f"{fn.__name__}: status {got}, want {status}"
        assert e.response["ResponseMetadata"].get("RequestId"), f"{fn.__name__}: no x-amzn-RequestId on the error"
        assert err.get("Message"), f"{fn.__name__}: empty error message"
        return e
    except client.exceptions.ClientError as e:
        raise AssertionError(f"{fn.__name__}: want {name}, got {e.response['Error']} {e}") from e
    raise AssertionError(f"{fn.__name__}: want {name}, got success")


def arns(items, key="Member"):
    return [m[key]["Arn"] for m in items]


def main():
    endpoint = os.environ.get("BELFRY_ENDPOINT")
    if not endpoint:
        print("session.py: set BELFRY_ENDPOINT to the server's URL, e.g. http://127.0.0.1:8080", file=sys.stderr)
        return 2
    ident, msg = clients(endpoint)
    summary = []

    # --- Identity: app instance, admin, users, bot -------------------------
    ai = ident.create_app_instance(Name="acme-support", Metadata="boto3 session",
                                   ClientRequestToken=str(uuid.uuid4()))["AppInstanceArn"]
    assert ai.startswith(f"arn:aws:chime:us-east-1:{ACCOUNT}:app-instance/"), ai
    desc = ident.describe_app_instance(AppInstanceArn=ai)["AppInstance"]
    assert desc["Name"] == "acme-support" and desc["Metadata"] == "boto3 session", desc
    assert isinstance(desc["CreatedTimestamp"], datetime.datetime), desc

    def user(uid, name):
        arn = ident.create_app_instance_user(AppInstanceArn=ai, AppInstanceUserId=uid, Name=name,
                                             ClientRequestToken=str(uuid.uuid4()))["AppInstanceUserArn"]
        assert arn == f"{ai}/user/{uid}", arn
        return arn

    admin = user("ops-admin@example.com", "Ops Admin")
    erin = user("erin@example.com", "Erin")
    frank = user("frank.smith@example.com", "Frank Smith")
    grace = user("grace.hopper@example.com", "Grace Hopper")
    heidi = user("heidi.support@example.com", "Heidi")
    ivan = user("ivan.auditor@example.com", "Ivan (auditor)")
    mod = user("mallory.mod@example.com", "Mallory (moderator)")
    judy = user("judy@example.com", "Judy")
    agent = user("support.agent@example.com", "Support Agent")
    got = ident.describe_app_instance_user(AppInstanceUserArn=frank)["AppInstanceUser"]
    assert got["AppInstanceUserArn"] == frank and got["Name"] == "Frank Smith", got

    ident.create_app_instance_admin(AppInstanceAdminArn=admin, AppInstanceArn=ai)
    adm = ident.describe_app_instance_admin(AppInstanceAdminArn=admin, AppInstanceArn=ai)["AppInstanceAdmin"]
    assert adm["Admin"]["Arn"] == admin, adm
    assert arns(ident.list_app_instance_admins(AppInstanceArn=ai)["AppInstanceAdmins"], "Admin") == [admin]

    bot = ident.create_app_instance_bot(
        AppInstanceArn=ai, Name="HelpBot", ClientRequestToken=str(uuid.uuid4()),
        Configuration={"Lex": {"RespondsTo": "STANDARD_MESSAGES", "LexBotAliasArn": LEX_ALIAS, "LocaleId": "en_US"}},
    )["AppInstanceBotArn"]
    assert bot.startswith(f"{ai}/bot/"), bot
    b = ident.describe_app_instance_bot(AppInstanceBotArn=bot)["AppInstanceBot"]
    assert b["Name"] == "HelpBot" and b["Configuration"]["Lex"]["LexBotAliasArn"] == LEX_ALIAS, b
    summary.append("identity: app instance, admin, 9 users, Lex bot")

    # --- Channels ---------------------------------------------------------
    public = msg.create_channel(AppInstanceArn=ai, Name="general", Mode="UNRESTRICTED", Privacy="PUBLIC",
                                ChimeBearer=erin, ClientRequestToken=str(uuid.uuid4()),
                                Tags=[{"Key": "team", "Value": "support"}])["ChannelArn"]
    private = msg.create_channel(AppInstanceArn=ai, Name="escalations", Mode="RESTRICTED", Privacy="PRIVATE",
                                 ChimeBearer=admin, ClientRequestToken=str(uuid.uuid4()))["ChannelArn"]
    ch = msg.describe_channel(ChannelArn=public, ChimeBearer=erin)["Channel"]
    assert ch["Privacy"] == "PUBLIC" and ch["Mode"] == "UNRESTRICTED" and ch["CreatedBy"]["Arn"] == erin, ch
    ch = msg.describe_channel(ChannelArn=private, ChimeBearer=admin)["Channel"]
    assert ch["Privacy"] == "PRIVATE" and ch["Mode"] == "RESTRICTED", ch
    # The creator is both member and moderator.
    assert arns(msg.list_channel_memberships(ChannelArn=public, ChimeBearer=erin)["ChannelMemberships"]) == [erin]
    mods = msg.list_channel_moderators(ChannelArn=public, ChimeBearer=erin)["ChannelModerators"]
    assert arns(mods, "Moderator") == [erin], mods
    summary.append("channels: PUBLIC/UNRESTRICTED and PRIVATE/RESTRICTED, creator is member and moderator")

    # --- Single membership --------------------------------------------------
    out = msg.create_channel_membership(ChannelArn=public, MemberArn=frank, Type="DEFAULT", ChimeBearer=erin)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201, out["ResponseMetadata"]
    assert out["ChannelArn"] == public and out["Member"]["Arn"] == frank and out["Member"]["Name"] == "Frank Smith", out
    m = msg.describe_channel_membership(ChannelArn=public, MemberArn=frank, ChimeBearer=frank)["ChannelMembership"]
    assert m["InvitedBy"]["Arn"] == erin and m["Type"] == "DEFAULT", m
    assert isinstance(m["CreatedTimestamp"], datetime.datetime), m
    # Adding an existing member again answers with the membership as it stands (D1).
    again = msg.create_channel_membership(ChannelArn=public, MemberArn=frank, Type="DEFAULT", ChimeBearer=erin)
    assert again["Member"]["Arn"] == frank, again
    # RESTRICTED: a plain member may not add others.
    msg.create_channel_membership(ChannelArn=private, MemberArn=frank, Type="DEFAULT", ChimeBearer=admin)
    expect_error(msg, "ForbiddenException", 403, msg.create_channel_membership,
                 ChannelArn=private, MemberArn=grace, Type="DEFAULT", ChimeBearer=frank)
    summary.append("CreateChannelMembership: 201, InvitedBy, idempotent re-add, RESTRICTED denies members")

    # --- Batch membership with a partial failure ----------------------------
    unknown = f"{ai}/user/nobody@example.com"
    batch = msg.batch_create_channel_membership(ChannelArn=public, Type="DEFAULT", ChimeBearer=erin,
                                                MemberArns=[grace, heidi, unknown, bot, judy])
    assert batch["ResponseMetadata"]["HTTPStatusCode"] == 200, batch["ResponseMetadata"]
    bcm = batch["BatchChannelMemberships"]
    assert [x["Arn"] for x in bcm["Members"]] == [grace, heidi, bot, judy], bcm
    assert bcm["InvitedBy"]["Arn"] == erin and bcm["ChannelArn"] == public and bcm["Type"] == "DEFAULT", bcm
    errs = batch.get("Errors", [])
    assert len(errs) == 1 and errs[0]["MemberArn"] == unknown, errs
    assert errs[0]["ErrorCode"] == "Forbidden" and errs[0]["ErrorMessage"], errs  # rule D4
    members = arns(msg.list_channel_memberships(ChannelArn=public, ChimeBearer=frank)["ChannelMemberships"])
    # Creation order; those added together by ARN (D7): the bot's /bot/ first.
    assert members == [erin, frank, bot, grace, heidi, judy], members
    # More than 100 MemberArns passes botocore (it checks no maximum) and is a 400.
    expect_error(msg, "BadRequestException", 400, msg.batch_create_channel_membership,
                 ChannelArn=public, ChimeBearer=erin, MemberArns=[f"{ai}/user/u{i}" for i in range(101)])
    summary.append("BatchCreateChannelMembership: 4 added, 1 Errors entry (Forbidden); 101 ARNs is a 400")

    # --- HIDDEN member added by a moderator ----------------------------------
    msg.create_channel_moderator(ChannelArn=private, ChannelModeratorArn=mod, ChimeBearer=admin)
    hid = msg.create_channel_membership(ChannelArn=private, MemberArn=ivan, Type="HIDDEN", ChimeBearer=mod)
    assert hid["Member"]["Arn"] == ivan, hid
    default = arns(msg.list_channel_memberships(ChannelArn=private, ChimeBearer=mod)["ChannelMemberships"])
    assert ivan not in default and default == [admin, frank], default
    hidden = msg.list_channel_memberships(ChannelArn=private, Type="HIDDEN", ChimeBearer=mod)["ChannelMemberships"]
    assert arns(hidden) == [ivan], hidden
    m = msg.describe_channel_membership(ChannelArn=private, MemberArn=ivan, ChimeBearer=mod)["ChannelMembership"]
    assert m["Type"] == "HIDDEN" and m["InvitedBy"]["Arn"] == mod, m
    admin_view = arns(msg.list_channel_memberships(ChannelArn=private, Type="HIDDEN", ChimeBearer=admin)["ChannelMemberships"])
    assert admin_view == [ivan], admin_view
    # A plain member may neither list HIDDEN members (D10) nor add one.
    expect_error(msg, "ForbiddenException", 403, msg.list_channel_memberships,
                 ChannelArn=private, Type="HIDDEN", ChimeBearer=frank)
    expect_error(msg, "ForbiddenException", 403, msg.create_channel_membership,
                 ChannelArn=public, MemberArn=agent, Type="HIDDEN", ChimeBearer=frank)
    summary.append("HIDDEN: added by a moderator, listed only with Type=HIDDEN, denied to members")

    # --- A ban ----------------------------------------------------------------
    ban = msg.create_channel_ban(ChannelArn=public, MemberArn=heidi, ChimeBearer=erin)
    assert ban["Member"]["Arn"] == heidi, ban
    members = arns(msg.list_channel_memberships(ChannelArn=public, ChimeBearer=erin)["ChannelMemberships"])
    assert heidi not in members, members
    expect_error(msg, "NotFoundException", 404, msg.describe_channel_membership,
                 ChannelArn=public, MemberArn=heidi, ChimeBearer=erin)
    bans = msg.list_channel_bans(ChannelArn=public, ChimeBearer=erin)["ChannelBans"]
    assert arns(bans) == [heidi], bans
    expect_error(msg, "ForbiddenException", 403, msg.create_channel_membership,
                 ChannelArn=public, MemberArn=heidi, Type="DEFAULT", ChimeBearer=erin)
    batch = msg.batch_create_channel_membership(ChannelArn=public, ChimeBearer=erin, MemberArns=[heidi, agent])
    assert [x["Arn"] for x in batch["BatchChannelMemberships"]["Members"]] == [agent], batch
    assert [(e["MemberArn"], e["ErrorCode"]) for e in batch["Errors"]] == [(heidi, "Forbidden")], batch  # D2
    # The channel's moderator cannot be banned.
    expect_error(msg, "ForbiddenException", 403, msg.create_channel_ban,
                 ChannelArn=public, MemberArn=erin, ChimeBearer=erin)
    # Lifting the ban lets her back in.
    msg.delete_channel_ban(ChannelArn=public, MemberArn=heidi, ChimeBearer=erin)
    msg.create_channel_membership(ChannelArn=public, MemberArn=heidi, Type="DEFAULT", ChimeBearer=erin)
    summary.append("ban: member removed, re-add Forbidden (single and batch), unban then re-add works")

    # --- A conversation ---------------------------------------------------------
    # Members of the PUBLIC channel talk; boto3 fills ClientRequestToken itself.
    def send(channel, bearer, content, **kw):
        out = msg.send_channel_message(ChannelArn=channel, ChimeBearer=bearer, Content=content,
                                       Type=kw.pop("Type", "STANDARD"), Persistence=kw.pop("Persistence", "PERSISTENT"), **kw)
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 201, out["ResponseMetadata"]
        assert out["ChannelArn"] == channel and out["MessageId"] and out["Status"]["Value"] == "SENT", out
        return out["MessageId"]

    speakers = [erin, frank, grace, judy]
    sent = []  # (MessageId, sender, content) in the order sent
    for i in range(23):
        who = speakers[i % len(speakers)]
        content = f"ticket 4711, note {i:02d} from {who.rsplit('/', 1)[1]}"
        sent.append((send(public, who, content, Metadata=f'{{"n":{i}}}'), who, content))
    ids = [m for m, _, _ in sent]

    # Frank edits his own note; he may not edit Erin's.
    frank_id = sent[1][0]
    up = msg.update_channel_message(ChannelArn=public, MessageId=frank_id, ChimeBearer=frank,
                                     Content="ticket 4711, note 01 from frank (edited: wrong customer id)")
    assert up["MessageId"] == frank_id and up["Status"]["Value"] == "SENT", up
    edited = msg.get_channel_message(ChannelArn=public, MessageId=frank_id, ChimeBearer=grace)["ChannelMessage"]
    assert edited["Content"].endswith("(edited: wrong customer id)"), edited
    assert isinstance(edited["LastEditedTimestamp"], datetime.datetime), edited
    assert edited["Sender"]["Arn"] == frank and edited["Sender"]["Name"] == "Frank Smith", edited["Sender"]
    expect_error(msg, "ForbiddenException", 403, msg.update_channel_message,
                 ChannelArn=public, MessageId=sent[0][0], ChimeBearer=frank, Content="not mine")
    # Grace redacts her own note; Frank may not redact Erin's; Erin (moderator) redacts Judy's.
    msg.redact_channel_message(ChannelArn=public, MessageId=sent[2][0], ChimeBearer=grace)
    expect_error(msg, "ForbiddenException", 403, msg.redact_channel_message,
                 ChannelArn=public, MessageId=sent[0][0], ChimeBearer=frank)
    msg.redact_channel_message(ChannelArn=public, MessageId=sent[3][0], ChimeBearer=erin)
    redacted = {sent[2][0], sent[3][0]}
    # Too big: 4 KB of UTF-8 at most (D16), counted in bytes.
    e = expect_error(msg, "BadRequestException", 400, msg.send_channel_message, ChannelArn=public, ChimeBearer=judy,
                     Content="\u00e9" * 2049, Type="STANDARD", Persistence="PERSISTENT")
    assert e.response["Error"]["Message"] == "Channel Messages size limit exceeded.", e.response["Error"]

    def page_through(bearer, page_size, **kw):
        """Every page of the history, by hand: MaxResults + NextToken."""
        pages, token = [], None
        while True:
            args = dict(ChannelArn=public, ChimeBearer=bearer, MaxResults=page_size, **kw)
            if token:
                args["NextToken"] = token
            out = msg.list_channel_messages(**args)
            assert out["ChannelArn"] == public, out["ChannelArn"]
            pages.append(out["ChannelMessages"])
            token = out.get("NextToken")
            if not token:
                return pages
            assert len(pages) < 20, "NextToken never stops"

    # Newest first by default: 10 + 10 + 3, the last page without NextToken.
    pages = page_through(grace, 10)
    assert [len(p) for p in pages] == [10, 10, 3], [len(p) for p in pages]
    history = [m for p in pages for m in p]
    assert [m["MessageId"] for m in history] == ids[::-1], "history is not newest first"
    for m in history:
        if m["MessageId"] in redacted:
            assert m["Redacted"] is True and "Content" not in m and "Metadata" not in m, m
        elif m["MessageId"] != frank_id:  # the edit sent no Metadata
            assert m["Redacted"] is False and m["Content"] and m["Metadata"].startswith('{"n":'), m
        assert isinstance(m["CreatedTimestamp"], datetime.datetime), m
    assert [m["Content"] for m in history if m["MessageId"] == frank_id] == [edited["Content"]]
    # Oldest first, in pages of 7.
    pages = page_through(judy, 7, SortOrder="ASCENDING")
    assert [len(p) for p in pages] == [7, 7, 7, 2], [len(p) for p in pages]
    assert [m["MessageId"] for p in pages for m in p] == ids
    # NotBefore/NotAfter (datetimes; botocore sends ISO-8601) are inclusive bounds.
    oldest_first = history[::-1]
    lo, hi = oldest_first[5]["CreatedTimestamp"], oldest_first[15]["CreatedTimestamp"]
    want = [m["MessageId"] for m in oldest_first if lo <= m["CreatedTimestamp"] <= hi]
    assert ids[5:16] == [m for m in want if m in ids[5:16]] and len(want) >= 11, want  # more only if times tie
    for order, expected in (("ASCENDING", want), ("DESCENDING", want[::-1])):
        pages = page_through(frank, 4, SortOrder=order, NotBefore=lo, NotAfter=hi)
        assert [m["MessageId"] for p in pages for m in p] == expected, (order, [len(p) for p in pages])
    # A token belongs to its request: another sort order is a 400 (D8).
    first = msg.list_channel_messages(ChannelArn=public, ChimeBearer=grace, MaxResults=10)
    expect_error(msg, "BadRequestException", 400, msg.list_channel_messages, ChannelArn=public, ChimeBearer=grace,
                 MaxResults=10, SortOrder="ASCENDING", NextToken=first["NextToken"])
    # The channel and the members' summaries carry the last message's time.
    last = msg.get_channel_message(ChannelArn=public, MessageId=ids[-1], ChimeBearer=erin)["ChannelMessage"]
    ch = msg.describe_channel(ChannelArn=public, ChimeBearer=erin)["Channel"]
    assert ch["LastMessageTimestamp"] == last["CreatedTimestamp"], (ch.get("LastMessageTimestamp"), last["CreatedTimestamp"])
    # Read markers: none until Frank marks the channel read.
    def frank_marker():
        mine = msg.describe_channel_membership_for_app_instance_user(
            ChannelArn=public, AppInstanceUserArn=frank, ChimeBearer=frank)["ChannelMembership"]
        return mine["AppInstanceUserMembershipSummary"].get("ReadMarkerTimestamp")
    assert frank_marker() is None
    msg.update_channel_read_marker(ChannelArn=public, ChimeBearer=frank)
    assert isinstance(frank_marker(), datetime.datetime)
    # Only the sender reads a message's status; only an AppInstanceAdmin deletes.
    st = msg.get_channel_message_status(ChannelArn=public, MessageId=ids[-1], ChimeBearer=last["Sender"]["Arn"])
    assert st["Status"]["Value"] == "SENT", st
    expect_error(msg, "ForbiddenException", 403, msg.get_channel_message_status,
                 ChannelArn=public, MessageId=ids[-1], ChimeBearer=heidi)
    expect_error(msg, "ForbiddenException", 403, msg.delete_channel_message,
                 ChannelArn=public, MessageId=ids[0], ChimeBearer=erin)
    msg.delete_channel_message(ChannelArn=public, MessageId=ids[0], ChimeBearer=admin)
    expect_error(msg, "NotFoundException", 404, msg.get_channel_message,
                 ChannelArn=public, MessageId=ids[0], ChimeBearer=erin)
    summary.append("conversation: 4 members, 23 messages, edit, redactions, pages 10+10+3 newest first and 7+7+7+2 oldest first, "
                   "inclusive NotBefore/NotAfter, read marker, status, admin delete")

    # Ivan is no member of the PUBLIC channel: he reads it but cannot post.
    outside = msg.list_channel_messages(ChannelArn=public, ChimeBearer=ivan, MaxResults=50)["ChannelMessages"]
    assert [m["MessageId"] for m in outside] == ids[:0:-1], "a non-member must see the PUBLIC history"
    got = msg.get_channel_message(ChannelArn=public, MessageId=frank_id, ChimeBearer=ivan)["ChannelMessage"]
    assert got["Content"] == edited["Content"], got
    expect_error(msg, "ForbiddenException", 403, msg.send_channel_message, ChannelArn=public, ChimeBearer=ivan,
                 Content="let me in", Type="STANDARD", Persistence="PERSISTENT")
    # In the PRIVATE channel Ivan is a HIDDEN member: he reads but cannot send; Grace, no member, reads nothing.
    secret = send(private, admin, "escalation: customer 4711 threatens to churn")
    assert [m["MessageId"] for m in msg.list_channel_messages(ChannelArn=private, ChimeBearer=ivan)["ChannelMessages"]] == [secret]
    expect_error(msg, "ForbiddenException", 403, msg.send_channel_message, ChannelArn=private, ChimeBearer=ivan,
                 Content="hi", Type="STANDARD", Persistence="PERSISTENT")
    expect_error(msg, "ForbiddenException", 403, msg.list_channel_messages, ChannelArn=private, ChimeBearer=grace)
    expect_error(msg, "ForbiddenException", 403, msg.get_channel_message,
                 ChannelArn=private, MessageId=secret, ChimeBearer=grace)
    summary.append("privacy: a non-member reads the PUBLIC history and cannot post; the PRIVATE one refuses a non-member (ForbiddenException)")

    # --- A user's channel list paged over 60 channels -------------------------
    created = []
    for i in range(60):
        created.append(msg.create_channel(
            AppInstanceArn=ai, Name=f"ticket-{i:03d}", Mode="RESTRICTED", Privacy="PRIVATE",
            ChimeBearer=agent, MemberArns=[judy], ClientRequestToken=str(uuid.uuid4()))["ChannelArn"])
    want = [public] + created  # judy joined the public channel first (D7: the order she joined)
    page1 = msg.list_channel_memberships_for_app_instance_user(ChimeBearer=judy, MaxResults=50)
    assert len(page1["ChannelMemberships"]) == 50 and page1.get("NextToken"), (len(page1["ChannelMemberships"]), page1.get("NextToken"))
    page2 = msg.list_channel_memberships_for_app_instance_user(ChimeBearer=judy, MaxResults=50,
                                                               NextToken=page1["NextToken"])
    assert len(page2["ChannelMemberships"]) == 11, len(page2["ChannelMemberships"])
    assert "NextToken" not in page2, page2.get("NextToken")
    got = [c["ChannelSummary"]["ChannelArn"] for c in page1["ChannelMemberships"] + page2["ChannelMemberships"]]
    assert got == want, "judy's channels are not the 61 she joined, in order"
    first = page1["ChannelMemberships"][1]
    assert first["ChannelSummary"]["Name"] == "ticket-000" and first["AppInstanceUserMembershipSummary"]["Type"] == "DEFAULT", first

    # A customer who is in exactly the 60 tickets pages 50 + 10.
    ticket_user = user("kim.customer@example.com", "Kim")
    for arn in created:
        msg.create_channel_membership(ChannelArn=arn, MemberArn=ticket_user, Type="DEFAULT", ChimeBearer=agent)
    # The admin lists Kim's channels on her behalf.
    p1 = msg.list_channel_memberships_for_app_instance_user(ChimeBearer=admin, AppInstanceUserArn=ticket_user, MaxResults=50)
    assert len(p1["ChannelMemberships"]) == 50 and p1.get("NextToken"), len(p1["ChannelMemberships"])
    p2 = msg.list_channel_memberships_for_app_instance_user(ChimeBearer=admin, AppInstanceUserArn=ticket_user,
                                                            MaxResults=50, NextToken=p1["NextToken"])
    assert len(p2["ChannelMemberships"]) == 10 and "NextToken" not in p2, (len(p2["ChannelMemberships"]), p2.get("NextToken"))
    got = [c["ChannelSummary"]["ChannelArn"] for c in p1["ChannelMemberships"] + p2["ChannelMemberships"]]
    assert got == created, "kim's channels are not the 60 tickets, in order"
    # Default page size is 50 (D6).
    assert len(msg.list_channel_memberships_for_app_instance_user(ChimeBearer=ticket_user)["ChannelMemberships"]) == 50
    # Someone else's list is for admins only.
    expect_error(msg, "ForbiddenException", 403, msg.list_channel_memberships_for_app_instance_user,
                 ChimeBearer=frank, AppInstanceUserArn=ticket_user)
    summary.append("ListChannelMembershipsForAppInstanceUser: 61 = 50 + 11 and 60 = 50 + 10, last page without NextToken")

    # --- An elastic channel (SEMANTICS.md §6) ---------------------------------
    fans = [user(f"fan{i}@example.com", f"Fan {i}") for i in range(7)]
    elastic_cfg = {"MaximumSubChannels": 3, "TargetMembershipsPerSubChannel": 4, "MinimumMembershipPercentage": 25}
    # Elastic channels are RESTRICTED and take no MemberArns.
    expect_error(msg, "BadRequestException", 400, msg.create_channel, AppInstanceArn=ai, Name="town-hall", ChimeBearer=mod,
                 ClientRequestToken=str(uuid.uuid4()), MemberArns=[frank], ElasticChannelConfiguration=elastic_cfg)
    expect_error(msg, "BadRequestException", 400, msg.create_channel, AppInstanceArn=ai, Name="town-hall", ChimeBearer=mod,
                 ClientRequestToken=str(uuid.uuid4()), Mode="UNRESTRICTED", ElasticChannelConfiguration=elastic_cfg)
    elastic = msg.create_channel(AppInstanceArn=ai, Name="town-hall", ChimeBearer=mod, ClientRequestToken=str(uuid.uuid4()),
                                 ElasticChannelConfiguration=elastic_cfg)["ChannelArn"]
    ch = msg.describe_channel(ChannelArn=elastic, ChimeBearer=mod)["Channel"]
    assert ch["Mode"] == "RESTRICTED" and ch["ElasticChannelConfiguration"] == elastic_cfg, ch
    # The creator is moderator only: no membership of its own.
    assert arns(msg.list_channel_moderators(ChannelArn=elastic, ChimeBearer=mod)["ChannelModerators"], "Moderator") == [mod]
    # One batch: the service spreads the fans over subchannels of at most 4.
    batch = msg.batch_create_channel_membership(ChannelArn=elastic, ChimeBearer=mod, MemberArns=fans)
    assert [x["Arn"] for x in batch["BatchChannelMemberships"]["Members"]] == fans and not batch.get("Errors"), batch
    subs = msg.list_sub_channels(ChannelArn=elastic, ChimeBearer=mod)["SubChannels"]
    assert len(subs) == 2 and sum(s["MembershipCount"] for s in subs) == 7, subs
    assert all(1 <= s["MembershipCount"] <= 4 for s in subs), subs
    page = msg.list_sub_channels(ChannelArn=elastic, ChimeBearer=admin, MaxResults=1)
    assert page["SubChannels"] == subs[:1] and page["NextToken"], page
    where = {}
    for s in subs:
        listed = msg.list_channel_memberships(ChannelArn=elastic, ChimeBearer=mod, SubChannelId=s["SubChannelId"])["ChannelMemberships"]
        assert len(listed) == s["MembershipCount"], (s, listed)
        for m in listed:
            assert m["Member"]["Arn"] not in where, m
            where[m["Member"]["Arn"]] = s["SubChannelId"]
    assert sorted(where) == sorted(fans), where
    # The members of an elastic channel are listed per subchannel; members may not list subchannels.
    expect_error(msg, "BadRequestException", 400, msg.list_channel_memberships, ChannelArn=elastic, ChimeBearer=mod)
    expect_error(msg, "ForbiddenException", 403, msg.list_sub_channels, ChannelArn=elastic, ChimeBearer=fans[0])
    # The moderator joins one subchannel, naming it; it is listed there but not counted.
    first = subs[0]["SubChannelId"]
    joined = msg.create_channel_membership(ChannelArn=elastic, MemberArn=mod, Type="DEFAULT", ChimeBearer=mod, SubChannelId=first)
    assert joined["SubChannelId"] == first and joined["Member"]["Arn"] == mod, joined
    expect_error(msg, "BadRequestException", 400, msg.create_channel_membership,
                 ChannelArn=elastic, MemberArn=mod, Type="DEFAULT", ChimeBearer=mod)
    listed = arns(msg.list_channel_memberships(ChannelArn=elastic, ChimeBearer=mod, SubChannelId=first)["ChannelMemberships"])
    assert mod in listed, listed
    assert msg.list_sub_channels(ChannelArn=elastic, ChimeBearer=mod)["SubChannels"] == subs
    m = msg.describe_channel_membership(ChannelArn=elastic, MemberArn=mod, ChimeBearer=mod, SubChannelId=first)["ChannelMembership"]
    assert m["SubChannelId"] == first, m
    # Messages live in one subchannel: members see their own subchannel's only.
    inside = next(f for f in fans if where[f] == first)
    outside = next(f for f in fans if where[f] != first)
    welcome = msg.send_channel_message(ChannelArn=elastic, ChimeBearer=mod, Content="Welcome to the town hall", Type="STANDARD",
                                       Persistence="PERSISTENT", SubChannelId=first, ClientRequestToken=str(uuid.uuid4()))
    assert welcome["SubChannelId"] == first, welcome
    reply = msg.send_channel_message(ChannelArn=elastic, ChimeBearer=inside, Content="Thanks!", Type="STANDARD",
                                     Persistence="PERSISTENT", ClientRequestToken=str(uuid.uuid4()))
    assert reply["SubChannelId"] == first, reply  # a member's own subchannel
    hist = msg.list_channel_messages(ChannelArn=elastic, ChimeBearer=inside, SortOrder="ASCENDING")
    assert [x["Content"] for x in hist["ChannelMessages"]] == ["Welcome to the town hall", "Thanks!"], hist
    assert msg.list_channel_messages(ChannelArn=elastic, ChimeBearer=outside)["ChannelMessages"] == []
    expect_error(msg, "ForbiddenException", 403, msg.list_channel_messages, ChannelArn=elastic, ChimeBearer=outside, SubChannelId=first)
    got = msg.get_channel_message(ChannelArn=elastic, MessageId=reply["MessageId"], ChimeBearer=mod, SubChannelId=first)["ChannelMessage"]
    assert got["Content"] == "Thanks!" and got["SubChannelId"] == first, got
    redacted = msg.redact_channel_message(ChannelArn=elastic, MessageId=reply["MessageId"], ChimeBearer=mod, SubChannelId=first)
    assert redacted["SubChannelId"] == first, redacted
    mine = msg.list_channel_memberships_for_app_instance_user(ChimeBearer=inside)["ChannelMemberships"]
    assert [(x["ChannelSummary"]["ChannelArn"], x["AppInstanceUserMembershipSummary"]["SubChannelId"]) for x in mine] == [(elastic, first)], mine
    # Not supported in elastic channels: read markers and HIDDEN memberships.
    expect_error(msg, "BadRequestException", 400, msg.update_channel_read_marker, ChannelArn=elastic, ChimeBearer=inside)
    expect_error(msg, "BadRequestException", 400, msg.create_channel_membership,
                 ChannelArn=elastic, MemberArn=agent, Type="HIDDEN", ChimeBearer=mod)
    # A moderator leaving without SubChannelId leaves every subchannel.
    msg.delete_channel_membership(ChannelArn=elastic, MemberArn=mod, ChimeBearer=mod)
    assert mod not in arns(msg.list_channel_memberships(ChannelArn=elastic, ChimeBearer=mod, SubChannelId=first)["ChannelMemberships"])
    summary.append("elastic channel: 7 fans in 2 subchannels of at most 4, ListSubChannels, a moderator in a subchannel, "
                   "messages per subchannel, read markers and HIDDEN refused")

    # --- Limits and error classes ----------------------------------------------
    # botocore only checks the minimum, so MaxResults=51 reaches the server.
    expect_error(msg, "BadRequestException", 400, msg.list_channel_memberships_for_app_instance_user,
                 ChimeBearer=judy, MaxResults=51)
    expect_error(msg, "BadRequestException", 400, msg.list_channel_memberships,
                 ChannelArn=public, ChimeBearer=erin, MaxResults=51)
    # A forged token, and a token of another user's list (D8).
    expect_error(msg, "BadRequestException", 400, msg.list_channel_memberships_for_app_instance_user,
                 ChimeBearer=judy, NextToken="forged-token")
    expect_error(msg, "BadRequestException", 400, msg.list_channel_memberships_for_app_instance_user,
                 ChimeBearer=admin, AppInstanceUserArn=ticket_user, NextToken=page1["NextToken"])
    expect_error(msg, "UnauthorizedClientException", 401, msg.describe_channel,
                 ChannelArn=public, ChimeBearer=f"{ai}/user/stranger@example.com")
    expect_error(msg, "NotFoundException", 404, msg.describe_channel,
                 ChannelArn=f"{ai}/channel/does-not-exist", ChimeBearer=erin)
    expect_error(ident, "NotFoundException", 404, ident.describe_app_instance_user,
                 AppInstanceUserArn=f"{ai}/user/nobody@example.com")
    expect_error(ident, "ConflictException", 409, ident.create_app_instance_user,
                 AppInstanceArn=ai, AppInstanceUserId="erin@example.com", Name="Erin again",
                 ClientRequestToken=str(uuid.uuid4()))
    e = expect_error(msg, "ForbiddenException", 403, msg.create_channel_membership,
                     ChannelArn=private, MemberArn=erin, Type="DEFAULT", ChimeBearer=erin)
    # The modeled exception classes are distinct: a Forbidden is not a BadRequest.
    assert not isinstance(e, msg.exceptions.BadRequestException)
    assert isinstance(e, msg.exceptions.ForbiddenException)
    summary.append("errors: BadRequest (MaxResults=51, forged/mismatched token), Unauthorized, NotFound, Conflict, Forbidden as client.exceptions.*")

    # --- Leaving and cleaning up ----------------------------------------------
    msg.delete_channel_membership(ChannelArn=public, MemberArn=frank, ChimeBearer=frank)
    expect_error(msg, "ForbiddenException", 403, msg.delete_channel_membership,
                 ChannelArn=public, MemberArn=grace, ChimeBearer=judy)
    msg.delete_channel(ChannelArn=private, ChimeBearer=admin)
    expect_error(msg, "NotFoundException", 404, msg.describe_channel, ChannelArn=private, ChimeBearer=admin)
    summary.append("leave, remove-other denied, DeleteChannel")

    for line in summary:
        print("ok  " + line)
    print(f"boto3 session: {len(summary)} steps passed against {endpoint}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # an assertion or an unexpected error: report and fail
        traceback.print_exc()
        print("boto3 session: FAILED", file=sys.stderr)
        sys.exit(1)
