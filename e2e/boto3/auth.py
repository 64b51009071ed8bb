#!/usr/bin/env python3
"""Unmodified boto3 against a Belfry server that verifies SigV4 (issue 6).

    BELFRY_ENDPOINT=http://127.0.0.1:8080 BELFRY_ADMIN_KEY=id:secret \
    BELFRY_USER_KEY=id:secret BELFRY_USER_ARN=... BELFRY_OTHER_ARN=... \
    BELFRY_CHANNEL_ARN=... BELFRY_APP_INSTANCE_ARN=... python3 e2e/boto3/auth.py

Checks, with botocore doing the signing:
- the admin key passes on paths with percent-encoded ARNs (signed with the
  path escaped twice), ARNs and NextTokens in the query, user ids with @;
- a wrong secret is refused with InvalidSignatureException, an unknown key
  with UnrecognizedClientException (both 403);
- the key bound to BELFRY_USER_ARN may send as that user and is refused
  (ForbiddenException) with another user's bearer and on identity calls;
- with --rate-limits=aws, BatchCreateChannelMembership (1 per second per
  channel) answered 429 ThrottledClientException is retried by botocore
  until it passes.
The e2e test TestBoto3SignedCalls runs it against the built binary.
"""

import os
import sys
import traceback
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def clients(endpoint, key, retries=None):
    key_id, secret = key.split(":", 1)
    session = boto3.session.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name="us-east-1")
    cfg = Config(retries=retries or {"total_max_attempts": 1, "mode": "standard"})
    return (session.client("chime-sdk-identity", endpoint_url=endpoint, config=cfg),
            session.client("chime-sdk-messaging", endpoint_url=endpoint, config=cfg))


def refused(code, status, fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        got_status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        assert got == code and got_status == status, f"want {code} {status}, got {got} {got_status}: {e}"
        print(f"refused as expected: {fn.__name__} -> {code} {status}")
        return
    raise AssertionError(f"{fn.__name__} succeeded, want {code}")


def main():
    endpoint = os.environ["BELFRY_ENDPOINT"]
    admin_key, user_key = os.environ["BELFRY_ADMIN_KEY"], os.environ["BELFRY_USER_KEY"]
    user, other = os.environ["BELFRY_USER_ARN"], os.environ["BELFRY_OTHER_ARN"]
    channel, ai = os.environ["BELFRY_CHANNEL_ARN"], os.environ["BELFRY_APP_INSTANCE_ARN"]

    ident, msg = clients(endpoint, admin_key)
    newcomer = ident.create_app_instance_user(AppInstanceArn=ai, AppInstanceUserId="boto:3@example.com", Name="boto3",
                                              ClientRequestToken=str(uuid.uuid4()))["AppInstanceUserArn"]
    assert ident.describe_app_instance_user(AppInstanceUserArn=newcomer)["AppInstanceUser"]["Name"] == "boto3"
    msg.create_channel_membership(ChannelArn=channel, MemberArn=newcomer, Type="DEFAULT", ChimeBearer=user)
    members, kw = [], {}
    while True:  # one member a page: every NextToken goes back in the query
        page = msg.list_channel_memberships(ChannelArn=channel, ChimeBearer=user, MaxResults=1, **kw)
        members += [m["Member"]["Arn"] for m in page["ChannelMemberships"]]
        if "NextToken" not in page:
            break
        kw = {"NextToken": page["NextToken"]}
    assert newcomer in members and len(members) >= 3, members
    mine = msg.list_channel_memberships_for_app_instance_user(AppInstanceUserArn=newcomer, ChimeBearer=newcomer)
    assert [c["ChannelSummary"]["ChannelArn"] for c in mine["ChannelMemberships"]] == [channel], mine
    print("admin key: signed calls pass")

    key_id = admin_key.split(":", 1)[0]
    bad_ident, _ = clients(endpoint, key_id + ":not-the-secret")
    refused("InvalidSignatureException", 403, bad_ident.describe_app_instance, AppInstanceArn=ai)
    unknown_ident, _ = clients(endpoint, "AKIAUNKNOWN0000:secret")
    refused("UnrecognizedClientException", 403, unknown_ident.describe_app_instance, AppInstanceArn=ai)

    u_ident, u_msg = clients(endpoint, user_key)
    u_msg.send_channel_message(ChannelArn=channel, Content="from my own key", Type="STANDARD", Persistence="PERSISTENT",
                               ChimeBearer=user, ClientRequestToken=str(uuid.uuid4()))
    refused("ForbiddenException", 403, u_msg.send_channel_message, ChannelArn=channel, Content="as someone else", Type="STANDARD",
            Persistence="PERSISTENT", ChimeBearer=other, ClientRequestToken=str(uuid.uuid4()))
    refused("ForbiddenException", 403, u_ident.describe_app_instance_user, AppInstanceUserArn=user)
    print("user-bound key: its own bearer only")

    # botocore's legacy retry mode retries HTTP 429.
    _, r_msg = clients(endpoint, admin_key, retries={"max_attempts": 10, "mode": "legacy"})
    retried = 0
    for i in range(2):
        u = ident.create_app_instance_user(AppInstanceArn=ai, AppInstanceUserId=f"batch-{i}", Name="b",
                                           ClientRequestToken=str(uuid.uuid4()))["AppInstanceUserArn"]
        out = r_msg.batch_create_channel_membership(ChannelArn=channel, MemberArns=[u], ChimeBearer=user)
        assert not out.get("Errors"), out
        retried += out["ResponseMetadata"]["RetryAttempts"]
    assert retried >= 1, "no batch call was throttled and retried"
    print(f"rate limits: 2 batches passed after {retried} retries of 429 ThrottledClientException")
    print("OK")


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.exit(1)
