package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/service"
	"github.com/belfry/belfry/internal/store"
)

// fuzzAI and fuzzBot in a fuzz input stand for the ids of the app instance
// and the bot the fuzz server was set up with (both are generated), so that
// inputs can name real users, bots and channels.
const (
	fuzzAI  = "FUZZAPPINSTANCEID"
	fuzzBot = "FUZZBOTID"
)

// Unsigned requests get account 000000000000 and region us-east-1 (rule D14).
const (
	fzInstance = "arn:aws:chime:us-east-1:000000000000:app-instance/" + fuzzAI
	fzU1       = fzInstance + "/user/u1"
	fzErin     = fzInstance + "/user/erin@example.com"
	fzAdmin    = fzInstance + "/user/admin"
	fzBot      = fzInstance + "/bot/" + fuzzBot
	fzPub      = fzInstance + "/channel/pub"
	fzPriv     = fzInstance + "/channel/priv"
)

// esc percent-encodes an ARN the way the SDKs put it in a path or query:
// everything but A-Za-z0-9-._~ (the ARNs here hold no spaces).
func esc(s string) string { return url.QueryEscape(s) }

// errLog records whether the server logged an error (an internal error or a
// recovered panic).
type errLog struct {
	mu   sync.Mutex
	msgs []string
}

func (l *errLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }
func (l *errLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	l.msgs = append(l.msgs, b.String())
	return nil
}
func (l *errLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *errLog) WithGroup(string) slog.Handler      { return l }

func (l *errLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.msgs
	l.msgs = nil
	return m
}

// fuzzServer builds a real Server on a temporary store with an app instance,
// users u1, erin@example.com and admin (an AppInstanceAdmin), bot b1, a PUBLIC
// UNRESTRICTED channel "pub" and a PRIVATE RESTRICTED channel "priv" with
// members and a moderator; it returns the handler and the function that
// fills in the placeholders.
func fuzzServer(f testing.TB) (*Server, *errLog, func(string) string) {
	f.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc, err := service.New(ctx, st, service.Options{})
	if err != nil {
		f.Fatal(err)
	}
	logs := &errLog{}
	srv, err := New(svc, OpenAuth{}, slog.New(logs))
	if err != nil {
		f.Fatal(err)
	}
	do := func(method, target, bearer, body string) string {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		if bearer != "" {
			req.Header.Set("x-amz-chime-bearer", bearer)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			f.Fatalf("setup %s %s: %d %s", method, target, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	var ai struct{ AppInstanceArn string }
	if err := json.Unmarshal([]byte(do("POST", "/app-instances", "", `{"Name":"fuzz","ClientRequestToken":"setup-ai"}`)), &ai); err != nil {
		f.Fatal(err)
	}
	id := ai.AppInstanceArn[strings.LastIndex(ai.AppInstanceArn, "/")+1:]
	fill := strings.NewReplacer(fuzzAI, id).Replace
	for _, u := range []string{"u1", "erin@example.com", "admin"} {
		do("POST", "/app-instance-users", "", fill(`{"AppInstanceArn":"`+fzInstance+`","AppInstanceUserId":"`+u+`","Name":"`+u+`","ClientRequestToken":"setup-`+strings.NewReplacer("@", "", ".", "").Replace(u)+`"}`))
	}
	var bot struct{ AppInstanceBotArn string }
	if err := json.Unmarshal([]byte(do("POST", "/app-instance-bots", "", fill(`{"AppInstanceArn":"`+fzInstance+`","Name":"b1","ClientRequestToken":"setup-b1",
		"Configuration":{"Lex":{"LexBotAliasArn":"arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST","LocaleId":"en_US"}}}`))), &bot); err != nil {
		f.Fatal(err)
	}
	fill = strings.NewReplacer(fuzzAI, id, fuzzBot, bot.AppInstanceBotArn[strings.LastIndex(bot.AppInstanceBotArn, "/")+1:]).Replace
	do("POST", fill("/app-instances/"+esc(fzInstance)+"/admins"), "", fill(`{"AppInstanceAdminArn":"`+fzAdmin+`"}`))
	do("POST", "/channels", fill(fzU1), fill(`{"AppInstanceArn":"`+fzInstance+`","Name":"pub","ChannelId":"pub","Mode":"UNRESTRICTED","Privacy":"PUBLIC","ClientRequestToken":"setup-pub"}`))
	do("POST", "/channels", fill(fzU1), fill(`{"AppInstanceArn":"`+fzInstance+`","Name":"priv","ChannelId":"priv","Mode":"RESTRICTED","Privacy":"PRIVATE",
		"MemberArns":["`+fzErin+`"],"ModeratorArns":["`+fzBot+`"],"ClientRequestToken":"setup-priv"}`))
	if m := logs.take(); len(m) > 0 {
		f.Fatalf("setup logged errors: %v", m)
	}
	return srv, logs, fill
}

// fuzzSeeds are realistic requests of several operations, and broken ones.
var fuzzSeeds = []struct{ method, path, query, bearer, body string }{
	{"POST", "/app-instances", "", "", `{"Name":"n","Metadata":"m","ClientRequestToken":"t-1","Tags":[{"Key":"k","Value":"v"}]}`},
	{"GET", "/app-instances/" + esc(fzInstance), "", "", ""},
	{"GET", "/app-instances", "max-results=1&next-token=abc%2F%2B%3D", "", ""},
	{"PUT", "/app-instances/" + esc(fzInstance), "", "", `{"Name":"renamed","Metadata":""}`},
	{"POST", "/app-instance-users", "", "", `{"AppInstanceArn":"` + fzInstance + `","AppInstanceUserId":"new:user.1@x","Name":"N","ClientRequestToken":"t-2","ExpirationSettings":{"ExpirationDays":1,"ExpirationCriterion":"CREATED_TIMESTAMP"}}`},
	{"GET", "/app-instance-users/" + esc(fzErin), "", "", ""},
	{"GET", "/app-instance-users", "app-instance-arn=" + esc(fzInstance) + "&max-results=50", "", ""},
	{"DELETE", "/app-instance-users/" + esc(fzInstance+"/user/nobody"), "", "", ""},
	{"PUT", "/app-instance-bots/" + esc(fzBot), "", "", `{"Name":"b","Metadata":"m","Configuration":{"Lex":{"LexBotAliasArn":"arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST","LocaleId":"en_US","InvokedBy":{"StandardMessages":"ALL","TargetedMessages":"NONE"}}}}`},
	{"GET", "/app-instances/" + esc(fzInstance) + "/admins/" + esc(fzAdmin), "", "", ""},
	{"POST", "/channels", "", fzU1, `{"AppInstanceArn":"` + fzInstance + `","Name":"c","ChannelId":"c2","Mode":"RESTRICTED","Privacy":"PRIVATE","Metadata":"{\"a\":1}","ClientRequestToken":"t-3","MemberArns":["` + fzErin + `"],"ModeratorArns":["` + fzBot + `"],"ExpirationSettings":{"ExpirationDays":5,"ExpirationCriterion":"LAST_MESSAGE_TIMESTAMP"}}`},
	{"GET", "/channels/" + esc(fzPub), "", fzErin, ""},
	{"GET", "/channels", "app-instance-arn=" + esc(fzInstance) + "&privacy=PRIVATE", fzAdmin, ""},
	{"PUT", "/channels/" + esc(fzPriv), "", fzBot, `{"Name":"p2","Mode":"UNRESTRICTED","Metadata":"x"}`},
	{"POST", "/channels/" + esc(fzPub) + "/memberships", "", fzErin, `{"MemberArn":"` + fzErin + `","Type":"DEFAULT"}`},
	{"POST", "/channels/" + esc(fzPriv) + "/memberships", "", fzAdmin, `{"MemberArn":"` + fzU1 + `","Type":"HIDDEN","SubChannelId":"sub-1"}`},
	{"POST", "/channels/" + esc(fzPub) + "/memberships", "operation=batch-create", fzU1, `{"MemberArns":["` + fzErin + `","` + fzBot + `","` + fzInstance + `/user/ghost"],"Type":"DEFAULT"}`},
	{"GET", "/channels/" + esc(fzPub) + "/memberships", "type=HIDDEN&max-results=99999999999999999999", fzU1, ""},
	{"GET", "/channels/" + esc(fzPub) + "/memberships/" + esc(fzU1), "", fzErin, ""},
	{"DELETE", "/channels/" + esc(fzPub) + "/memberships/" + esc(fzErin), "", fzErin, ""},
	{"GET", "/channels", "scope=app-instance-user-memberships&app-instance-user-arn=" + esc(fzErin) + "&max-results=1", fzAdmin, ""},
	{"GET", "/channels/" + esc(fzPriv), "scope=app-instance-user-membership&app-instance-user-arn=" + esc(fzErin), fzErin, ""},
	{"POST", "/channels/" + esc(fzPriv) + "/moderators", "", fzU1, `{"ChannelModeratorArn":"` + fzErin + `"}`},
	{"GET", "/channels/" + esc(fzPriv) + "/moderators", "next-token=forged", fzBot, ""},
	{"GET", "/channels", "scope=app-instance-user-moderated-channels&app-instance-user-arn=" + esc(fzBot), fzBot, ""},
	{"GET", "/channels/" + esc(fzPriv), "scope=app-instance-user-moderated-channel&app-instance-user-arn=" + esc(fzU1), fzU1, ""},
	{"POST", "/channels/" + esc(fzPub) + "/bans", "", fzAdmin, `{"MemberArn":"` + fzErin + `"}`},
	{"GET", "/channels/" + esc(fzPub) + "/bans", "max-results=0", fzAdmin, ""},
	{"DELETE", "/channels/" + esc(fzPub) + "/bans/" + esc(fzErin), "", fzU1, ""},
	{"POST", "/tags", "operation=tag-resource", "", `{"ResourceARN":"` + fzPub + `","Tags":[{"Key":"k","Value":"v"}]}`},
	{"POST", "/tags", "operation=untag-resource", "", `{"ResourceARN":"` + fzInstance + `","TagKeys":["k"]}`},
	{"GET", "/tags", "arn=" + esc(fzPub), "", ""},
	{"GET", "/channels/" + esc(fzPub) + "/messages", "not-before=2024-01-02T03:04:05.123Z&not-after=1700000000.5&sort-order=ASCENDING", fzU1, ""},
	{"POST", "/channels/" + esc(fzPub) + "/messages", "", fzU1, `{"Content":"hi","Type":"STANDARD","Persistence":"PERSISTENT","ClientRequestToken":"t-4","MessageAttributes":{"a":{"StringValues":["x"]}}}`},
	{"DELETE", "/channels/" + esc(fzInstance+"/channel/c2"), "", fzBot, ""},
	{"GET", "/endpoints/messaging-session", "", "", ""},
	// Edge cases of the service: duplicate keys and ids, reused tokens, cross-instance ARNs.
	{"POST", "/tags", "operation=tag-resource", "", `{"ResourceARN":"` + fzPub + `","Tags":[{"Key":"k","Value":"a"},{"Key":"k","Value":"b"}]}`},
	{"POST", "/app-instances", "", "", `{"Name":"n","ClientRequestToken":"t-10","Tags":[{"Key":"k","Value":"a"},{"Key":"k","Value":"b"}]}`},
	{"POST", "/channels", "", fzU1, `{"AppInstanceArn":"` + fzInstance + `","Name":"c","ChannelId":"pub","ClientRequestToken":"t-11","Tags":[{"Key":"k","Value":"a"},{"Key":"k","Value":""}],"MemberArns":["` + fzU1 + `","` + fzU1 + `"],"ModeratorArns":["` + fzU1 + `","` + fzErin + `","` + fzErin + `"]}`},
	{"POST", "/channels", "", fzU1, `{"AppInstanceArn":"` + fzInstance + `","Name":"other name","ChannelId":"c2","Mode":"RESTRICTED","Privacy":"PRIVATE","Metadata":"{\"a\":1}","ClientRequestToken":"t-3"}`},
	{"POST", "/app-instance-users", "", "", `{"AppInstanceArn":"` + fzInstance + `","AppInstanceUserId":"u1","Name":"again","ClientRequestToken":"t-12"}`},
	{"POST", "/app-instances/" + esc(fzInstance) + "/admins", "", "", `{"AppInstanceAdminArn":"` + fzBot + `"}`},
	{"POST", "/app-instances/" + esc(fzInstance) + "/admins", "", "", `{"AppInstanceAdminArn":"arn:aws:chime:us-east-1:000000000000:app-instance/other/user/u1"}`},
	{"POST", "/tags", "operation=tag-resource", "", `{"ResourceARN":"` + fzInstance + `/channel-flow/f","Tags":[{"Key":"k","Value":"v"}]}`},
	{"POST", "/channels/" + esc(fzPub) + "/memberships", "", fzBot, `{"MemberArn":"arn:aws:chime:us-east-1:000000000000:app-instance/other/user/u1","Type":"HIDDEN"}`},
	{"DELETE", "/app-instances/" + esc(fzInstance+"x"), "", "", ""},
	// Broken input: bad JSON, wrong and nested wrong types, nulls, huge numbers, bad escapes.
	{"POST", "/channels/" + esc(fzPub) + "/memberships", "", fzU1, `{"MemberArn":`},
	{"POST", "/channels/" + esc(fzPub) + "/memberships", "", fzU1, `[]`},
	{"POST", "/channels/" + esc(fzPub) + "/memberships", "", fzU1, `null`},
	{"POST", "/channels/" + esc(fzPub) + "/memberships", "", fzU1, `{"MemberArn":null,"Type":null}`},
	{"POST", "/channels/" + esc(fzPub) + "/memberships", "", fzU1, `{"MemberArn":{"a":[1,2]},"Type":["DEFAULT"]}`},
	{"POST", "/channels/" + esc(fzPub) + "/memberships", "operation=batch-create", fzU1, `{"MemberArns":[null,1,{"x":1},"` + fzErin + `"]}`},
	{"POST", "/channels", "", fzU1, `{"AppInstanceArn":"` + fzInstance + `","Name":"c","ClientRequestToken":"t-5","Tags":[{"Key":1,"Value":null}],"ExpirationSettings":{"ExpirationDays":1e400,"ExpirationCriterion":7}}`},
	{"POST", "/channels", "", fzU1, `{"AppInstanceArn":"` + fzInstance + `","Name":"c","ClientRequestToken":"t-6","ExpirationSettings":{"ExpirationDays":2147483648,"ExpirationCriterion":"CREATED_TIMESTAMP"},"ElasticChannelConfiguration":{"MaximumSubChannels":-1}}`},
	{"POST", "/channels", "", fzU1, `{"AppInstanceArn":"` + fzInstance + `","Name":"c","ClientRequestToken":"t-7","ExpirationSettings":{"ExpirationDays":1.5},"MemberArns":"` + fzErin + `","ModeratorArns":{}}`},
	{"POST", "/app-instances", "", "", `{"Name":"n","ClientRequestToken":"t-8","Name":"dup"}  {}`},
	{"POST", "/app-instances", "", "", "{\"Name\":\"\xff\xfe\",\"ClientRequestToken\":\"t-9\"}"},
	{"GET", "/channels/" + esc(fzPub) + "/memberships", "max-results=-1&max-results=2&type=BOGUS", fzU1, ""},
	{"GET", "/channels/" + esc(fzPub) + "/memberships", "max-results=1e3&next-token=", fzU1, ""},
	{"GET", "/channels/%ZZ/memberships", "", fzU1, ""},
	{"GET", "/channels/arn%3Aaws%3Achime%3A%3A%3A/memberships", "", fzU1, ""},
	{"GET", "/channels/" + esc(fzPub) + "/memberships/" + esc(fzU1) + "/extra/segments", "", fzU1, ""},
	{"GET", "//channels//", "", "", ""},
	{"GET", "/", "", "", ""},
	{"BREW", "/channels", "", fzU1, ""},
	{"OPTIONS", "/channels", "", "", ""},
	{"PATCH", "/channels/" + esc(fzPub), "", fzU1, `{}`},
	{"GET", "/channels/" + esc(fzPub), "", "not an arn", ""},
	{"GET", "/channels/" + esc(fzPub), "", fzInstance + "/channel/pub", ""},
	{"GET", "/channels/" + esc(fzInstance+"/user/u1"), "", fzU1, ""},
}

// FuzzServeHTTP sends arbitrary requests to a real Server and checks the wire
// contract (issue 2: "no input yields a 5xx or a panic"; SEMANTICS.md §8):
// nothing panics or fails internally, the status is below 500 (except 501
// NotImplementedException, the deliberate answer of an operation not built
// yet), every response has x-amzn-RequestId, and every error has
// x-amzn-ErrorType and a {"Code","Message"} body.
func FuzzServeHTTP(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s.method, s.path, s.query, s.bearer, s.body)
	}
	srv, logs, fill := fuzzServer(f)
	f.Fuzz(func(t *testing.T, method, path, query, bearer, body string) {
		path, query, bearer, body = fill(path), fill(query), fill(bearer), fill(body)
		// Build the request the way net/http's server parses it off the wire;
		// what it would reject never reaches the handler.
		target := path
		if query != "" {
			target += "?" + query
		}
		var raw bytes.Buffer
		raw.WriteString(method + " " + target + " HTTP/1.1\r\nHost: belfry\r\nContent-Type: application/json\r\n")
		// A credential (not verified in the open mode) of the account and
		// region the fixtures live in, so that the account check
		// (ownAccount) sees every request.
		raw.WriteString("Authorization: AWS4-HMAC-SHA256 Credential=AKIAFUZZ/20240101/us-east-1/chime/aws4_request, SignedHeaders=host, Signature=00\r\n")
		if bearer != "" {
			if strings.ContainsAny(bearer, "\r\n") {
				return
			}
			raw.WriteString("x-amz-chime-bearer: " + bearer + "\r\n")
		}
		raw.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
		req, err := http.ReadRequest(bufio.NewReader(&raw))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)

		res := rec.Result()
		if m := logs.take(); len(m) > 0 {
			t.Fatalf("%s %s: server logged errors: %v", method, target, m)
		}
		typ := res.Header.Get("x-amzn-ErrorType")
		if res.StatusCode >= 500 && !(res.StatusCode == http.StatusNotImplemented && typ == "NotImplementedException") {
			t.Fatalf("%s %s: status %d %s: %s", method, target, res.StatusCode, typ, rec.Body)
		}
		if res.Header.Get("x-amzn-RequestId") == "" {
			t.Fatalf("%s %s: no x-amzn-RequestId", method, target)
		}
		if res.StatusCode >= 400 {
			var e struct{ Code, Message string }
			if typ == "" || !strings.HasSuffix(typ, "Exception") {
				t.Fatalf("%s %s: status %d with x-amzn-ErrorType %q", method, target, res.StatusCode, typ)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("%s %s: error body %q (%v)", method, target, rec.Body, err)
			}
			return
		}
		if rec.Body.Len() > 0 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: status %d with a body that is not JSON: %q", method, target, res.StatusCode, rec.Body)
		}
	})
}

// FuzzDecodeInput drives the model-driven decoder of every operation of both
// models, built or not (ServeHTTP answers 501 before decoding an operation not
// built yet): a request decodes to what decodeInputRef (encoding/json into a
// map) gives, error and values, and either decodes to values that encode as
// JSON, or fails with an error the client sees, never an internal one (a 500).
// authorize, ownAccount and limitsFor read the decoded values; they make of
// them what they make of their JSON decoded again, as they once read it.
func FuzzDecodeInput(f *testing.F) {
	ops, err := loadModels()
	if err != nil {
		f.Fatal(err)
	}
	for i := range ops {
		f.Add(uint16(i), "arn:aws:chime:us-east-1:123456789012:app-instance/a/channel/c", "max-results=5&next-token=x&not-before=2024-01-02T03:04:05.123Z&type=DEFAULT", `{}`)
	}
	for _, s := range fuzzSeeds {
		f.Add(uint16(len(s.path)+len(s.body)), s.path, s.query, s.body)
	}
	// Inputs that name every resource, and a bearer that is not UTF-8.
	every := `{"AppInstanceArn":"` + fzInstance + `","ChannelArn":"` + fzPub + `","AppInstanceUserArn":"` + fzU1 + `","MemberArn":"` + fzErin +
		`","MemberArns":["` + fzErin + `","` + fzBot + `"],"ModeratorArns":["` + fzAdmin + `"],"ChannelModeratorArn":"` + fzU1 +
		`","ResourceARN":"` + fzPriv + `","Name":"n","Metadata":"m","ClientRequestToken":"t-1","Type":"DEFAULT","Content":"hi","MessageId":"m","Persistence":"PERSISTENT"}`
	for i := range ops {
		f.Add(uint16(i), fzPub, "app-instance-arn="+url.QueryEscape(fzInstance)+"&app-instance-user-arn="+url.QueryEscape(fzU1), every)
		f.Add(uint16(i), fzU1+"\xff\xc3", "app-instance-arn="+url.QueryEscape(fzInstance), every)
	}
	for _, q := range []string{"not-before=1e15", "not-after=-1e15", "not-before=0000-01-01T00:00:00%2B01:00", "not-after=9999-12-31T23:59:59-01:00", "not-before=1e400&not-after=NaN", "not-before=2024-01-02T03:04:05.123000Z&not-after=1700000000.123"} {
		for i, op := range ops {
			if op.name == "ListChannelMessages" {
				f.Add(uint16(i), "arn:aws:chime:us-east-1:123456789012:app-instance/a/channel/c", q, "")
			}
		}
	}
	f.Fuzz(func(t *testing.T, i uint16, label, query, body string) {
		op := ops[int(i)%len(ops)]
		segs := pathOf(op, url.QueryEscape(label))
		r := httptest.NewRequest("POST", "/", nil)
		r.URL.RawQuery = query
		r.Header.Set("x-amz-chime-bearer", label)
		var q url.Values // as route gives it
		if query != "" {
			q = r.URL.Query()
		}
		in, err := decodeInput(op, requestPath{segs: segs}, q, r, []byte(body))
		ref, rerr := decodeInputRef(op, labelsOf(op, segs), r.URL.Query(), r, []byte(body))
		if fmt.Sprint(err) != fmt.Sprint(rerr) || !reflect.DeepEqual(in, ref) {
			t.Fatalf("%s: decodeInput gives %#v, %v; decodeInputRef %#v, %v", op.name, in, err, ref, rerr)
		}
		if err != nil {
			if k := chime.KindOf(err); k != chime.KindBadRequest {
				t.Fatalf("%s: error of kind %d: %v", op.name, k, err)
			}
			return
		}
		raw, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("%s: decoded input does not encode: %v", op.name, err)
		}
		var again map[string]any
		if err := json.Unmarshal(raw, &again); err != nil {
			t.Fatalf("%s: decoded input is not JSON: %q", op.name, raw)
		}
		if got, want := checksSee(op, in), checksSee(op, again); got != want {
			t.Fatalf("%s: the checks see\n%s\nin the decoded input, but\n%s\nin its JSON %s", op.name, got, want, raw)
		}
	})
}

// checksSee returns what authorize, ownAccount and limitsFor make of in.
func checksSee(op *opSpec, in map[string]any) string {
	var b strings.Builder
	arns, bearer := inputARNs(op, in)
	fmt.Fprintf(&b, "%q %q\n", arns, bearer)
	for _, p := range []chime.Principal{
		{AccessKeyID: "AKIAADMIN", Account: "123456789012", Region: "eu-central-1", Scope: chime.Scope{Kind: chime.ScopeAccount}},
		{AccessKeyID: "AKIAADMIN", Account: "000000000000", Region: "us-east-1", Scope: chime.Scope{Kind: chime.ScopeAccount}},
		{AccessKeyID: "AKIAAPP", Account: "000000000000", Region: "us-east-1", Scope: chime.Scope{Kind: chime.ScopeAppInstance, ARN: fzInstance}},
		{AccessKeyID: "AKIAUSER", Account: "000000000000", Region: "us-east-1", Scope: chime.Scope{Kind: chime.ScopeUser, ARN: fzU1}},
	} {
		fmt.Fprintf(&b, "%v %v %+v\n", authorize(p, op, in), ownAccount(p, op, in), limitsFor(context.Background(), p, op, in, nil))
	}
	return b.String()
}
