package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkidentity"
	idtypes "github.com/aws/aws-sdk-go-v2/service/chimesdkidentity/types"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/belfry/belfry/internal/service"
)

// wireBody is the JSON body of every error (SEMANTICS.md §8).
type wireBody struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

// wantWireError checks one raw error response: status, x-amzn-ErrorType,
// x-amzn-RequestId and a {"Code","Message"} body. It returns the message.
func wantWireError(t *testing.T, what string, status int, h http.Header, body string, wantStatus int, wantType, wantCode string) string {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: status %d, want %d (body %s)", what, status, wantStatus, body)
	}
	if got := h.Get("x-amzn-ErrorType"); got != wantType {
		t.Errorf("%s: x-amzn-ErrorType %q, want %q", what, got, wantType)
	}
	if h.Get("x-amzn-RequestId") == "" {
		t.Errorf("%s: no x-amzn-RequestId", what)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	var b wireBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Errorf("%s: body is not JSON: %s", what, body)
		return ""
	}
	if b.Code != wantCode || b.Message == "" {
		t.Errorf("%s: body %s, want Code %q and a Message", what, body, wantCode)
	}
	return b.Message
}

// signedAs returns headers of a SigV4-looking request by accessKey in
// region; the server does not verify the signature but reads the scope (D14).
func signedAs(accessKey, region string) map[string]string {
	return map[string]string{"Content-Type": "application/json", "X-Amz-Date": "20240102T030405Z",
		"Authorization": "AWS4-HMAC-SHA256 Credential=" + accessKey + "/20240102/" + region + "/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0", 64)}
}

// wireWorld is an app instance with a user, an admin and a channel.
type wireWorld struct {
	*env
	ai, erin, bob, ch string
}

func newWireWorld(t *testing.T, opts ...envOption) *wireWorld {
	e := newEnv(t, opts...)
	w := &wireWorld{env: e}
	w.ai = e.appInstance("wire")
	w.erin = e.user(w.ai, "erin@example.com")
	w.bob = e.user(w.ai, "a:b.c-d_e")
	w.ch = e.channel(w.ai, w.erin, "UNRESTRICTED", "PUBLIC")
	return w
}

func (w *wireWorld) bearer(arn string) map[string]string {
	return map[string]string{"x-amz-chime-bearer": arn, "Content-Type": "application/json"}
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestWireRequestIDOnEveryResponse: success, error, unknown path and OPTIONS
// all carry x-amzn-RequestId, and the SDK reads it.
func TestWireRequestIDOnEveryResponse(t *testing.T) {
	w := newWireWorld(t)
	seen := map[string]string{}
	for _, c := range []struct{ name, method, path, body string }{
		{"success", "GET", "/app-instances/" + pathEsc(w.ai), ""},
		{"create", "POST", "/app-instances", `{"Name":"x","ClientRequestToken":"tok-req-id"}`},
		{"error", "GET", "/app-instances/" + pathEsc(missingAppInstance), ""},
		{"validation", "GET", "/app-instances?max-results=99", ""},
		{"unknown path", "GET", "/no/such/thing", ""},
		{"wrong method", "PATCH", "/app-instances", ""},
		{"root", "GET", "/", ""},
		{"OPTIONS", "OPTIONS", "/app-instances", ""},
		{"OPTIONS unknown", "OPTIONS", "/nowhere", ""},
	} {
		status, h, _ := w.raw(c.method, c.path, nil, c.body)
		id := h.Get("x-amzn-RequestId")
		if !uuidPattern.MatchString(id) {
			t.Errorf("%s (%s %s, status %d): x-amzn-RequestId %q is not a UUID, as AWS's are (SEMANTICS.md §8)", c.name, c.method, c.path, status, id)
			continue
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("%s and %s share request id %s", prev, c.name, id)
		}
		seen[id] = c.name
	}
	if status, h, _ := w.raw("OPTIONS", "/app-instances", nil, ""); status/100 != 2 {
		t.Errorf("OPTIONS: status %d", status)
	} else if allowed := strings.Split(strings.ToLower(h.Get("Access-Control-Allow-Headers")), ","); !slices.ContainsFunc(allowed, func(s string) bool { return strings.TrimSpace(s) == "authorization" }) {
		// The Fetch standard's wildcard "*" never covers Authorization, which
		// every signed browser request carries: it must be listed by name.
		t.Errorf("preflight Access-Control-Allow-Headers %q does not name authorization", h.Get("Access-Control-Allow-Headers"))
	}
	// Browsers can read both headers only when they are exposed (§8).
	_, h, _ := w.raw("GET", "/app-instances/"+pathEsc(missingAppInstance), nil, "")
	exposed := strings.ToLower(h.Get("Access-Control-Expose-Headers"))
	if !strings.Contains(exposed, "x-amzn-requestid") || !strings.Contains(exposed, "x-amzn-errortype") {
		t.Errorf("Access-Control-Expose-Headers %q", exposed)
	}

	out, err := w.ID.DescribeAppInstance(w.ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(w.ai)})
	noErr(t, err)
	if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); !ok || id == "" {
		t.Error("the SDK found no request id on a success")
	}
	_, err = w.ID.DescribeAppInstance(w.ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(missingAppInstance)})
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.ServiceRequestID() == "" {
		t.Errorf("the SDK found no request id on an error: %v", err)
	}
}

// TestWireErrorShapes: each error kind has its model status, the exception
// shape in x-amzn-ErrorType and {"Code": <short code>, "Message"} (§8).
func TestWireErrorShapes(t *testing.T) {
	q := service.DefaultQuotas
	q.AppInstancesPerAccount = 2
	w := newWireWorld(t, withQuotas(q))
	w.appInstance("second") // the quota is now full
	cases := []struct {
		name            string
		method, path    string
		headers         map[string]string
		body            string
		status          int
		typ, code       string
		messageMustHave string
	}{
		{"BadRequest", "GET", "/app-instance-users?app-instance-arn=" + pathEsc(w.ai) + "&max-results=51", nil, "",
			400, "BadRequestException", "BadRequest", "MaxResults"},
		{"ResourceLimitExceeded", "POST", "/app-instances", signedAs(testAccount, "us-east-1"), `{"Name":"third","ClientRequestToken":"tok-third"}`,
			400, "ResourceLimitExceededException", "ResourceLimitExceeded", ""},
		{"Unauthorized", "GET", "/channels/" + pathEsc(w.ch), nil, "",
			401, "UnauthorizedClientException", "Unauthorized", "x-amz-chime-bearer"},
		{"Forbidden", "POST", "/channels/" + pathEsc(w.ch) + "/memberships", w.bearer(w.erin), `{"MemberArn":"` + w.ai + `/user/ghost","Type":"DEFAULT"}`,
			403, "ForbiddenException", "Forbidden", ""},
		{"NotFound", "GET", "/app-instances/" + pathEsc(missingAppInstance), nil, "",
			404, "NotFoundException", "NotFound", ""},
		{"Conflict", "POST", "/app-instance-users", nil, `{"AppInstanceArn":"` + w.ai + `","AppInstanceUserId":"erin@example.com","Name":"E","ClientRequestToken":"tok-dup"}`,
			409, "ConflictException", "Conflict", ""},
		{"NotImplemented", "POST", "/channels?operation=search", w.bearer(w.erin),
			`{"Fields":[{"Key":"MEMBERS","Values":["x"],"Operator":"EQUALS"}]}`,
			501, "NotImplementedException", "NotImplemented", "SearchChannels"},
		{"NotImplemented identity op", "GET", "/app-instance-users/" + pathEsc(w.erin) + "/endpoints", nil, "",
			501, "NotImplementedException", "NotImplemented", "ListAppInstanceUserEndpoints"},
		{"UnknownOperation path", "GET", "/no/such/thing", nil, "",
			404, "UnknownOperationException", "UnknownOperation", ""},
		{"UnknownOperation method", "DELETE", "/app-instances", nil, "",
			404, "UnknownOperationException", "UnknownOperation", ""},
		{"UnknownOperation method on a label path", "PATCH", "/channels/" + pathEsc(w.ch), w.bearer(w.erin), "",
			404, "UnknownOperationException", "UnknownOperation", ""},
	}
	for _, c := range cases {
		status, h, body := w.raw(c.method, c.path, c.headers, c.body)
		msg := wantWireError(t, c.name, status, h, body, c.status, c.typ, c.code)
		if c.messageMustHave != "" && !strings.Contains(msg, c.messageMustHave) {
			t.Errorf("%s: message %q does not mention %q", c.name, msg, c.messageMustHave)
		}
	}

	// The SDKs map the same errors to their typed exceptions.
	_, err := w.ID.CreateAppInstance(w.ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("third"), ClientRequestToken: aws.String(token())})
	var rle *idtypes.ResourceLimitExceededException
	if !errors.As(err, &rle) {
		t.Errorf("want *ResourceLimitExceededException, got %T %v", err, err)
	}
	_, err = w.ID.CreateAppInstanceUser(w.ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(w.ai), AppInstanceUserId: aws.String("erin@example.com"),
		Name: aws.String("E"), ClientRequestToken: aws.String(token())})
	var conflict *idtypes.ConflictException
	if !errors.As(err, &conflict) || conflict.ErrorCode() != "ConflictException" {
		t.Errorf("want *ConflictException, got %T %v", err, err)
	}
	_, err = w.ID.ListAppInstanceUsers(w.ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(w.ai), MaxResults: aws.Int32(51)})
	var bad *idtypes.BadRequestException
	if !errors.As(err, &bad) || !strings.Contains(aws.ToString(bad.Message), "MaxResults") || bad.Code != idtypes.ErrorCodeBadRequest {
		t.Errorf("want *BadRequestException naming MaxResults, got %T %v", err, err)
	}
	_, err = w.Msg.DescribeChannel(w.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(w.ai + "/user/ghost")})
	var unauth *types.UnauthorizedClientException
	if !errors.As(err, &unauth) || errStatus(err) != 401 {
		t.Errorf("want *UnauthorizedClientException 401, got %T %v", err, err)
	}
	_, err = w.Msg.CreateChannelMembership(w.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(w.ch), MemberArn: aws.String(w.ai + "/user/ghost"),
		Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(w.erin)})
	var forbidden *types.ForbiddenException
	if !errors.As(err, &forbidden) || errStatus(err) != 403 {
		t.Errorf("want *ForbiddenException 403, got %T %v", err, err)
	}
	_, err = w.Msg.DescribeChannelMembership(w.ctx, &chimesdkmessaging.DescribeChannelMembershipInput{ChannelArn: aws.String(w.ch), MemberArn: aws.String(w.bob),
		ChimeBearer: aws.String(w.erin)})
	var nf *types.NotFoundException
	if !errors.As(err, &nf) || errStatus(err) != 404 {
		t.Errorf("want *NotFoundException 404, got %T %v", err, err)
	}
	// An operation that is not built yet fails clearly through the SDK, never a fake success.
	_, err = w.Msg.SearchChannels(w.ctx, &chimesdkmessaging.SearchChannelsInput{ChimeBearer: aws.String(w.erin),
		Fields: []types.SearchField{{Key: types.SearchFieldKeyMembers, Values: []string{w.erin}, Operator: types.SearchFieldOperatorEquals}}})
	wantErr(t, err, "NotImplementedException")
	if errStatus(err) != 501 {
		t.Errorf("SearchChannels status %d, want 501", errStatus(err))
	}
}

// TestWireValidationNamesField: every model constraint is checked on the
// server, including those botocore skips; the 400 names the field.
func TestWireValidationNamesField(t *testing.T) {
	w := newWireWorld(t)
	arns := make([]string, 101)
	for i := range arns {
		arns[i] = fmt.Sprintf(`"%s/user/u%d"`, w.ai, i)
	}
	lex := `{"Lex":{"LexBotAliasArn":"arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST","LocaleId":"en_US"}}`
	cases := []struct {
		name         string
		method, path string
		headers      map[string]string
		body         string
		field        string
	}{
		{"MaxResults over 50", "GET", "/app-instance-users?app-instance-arn=" + pathEsc(w.ai) + "&max-results=51", nil, "", "MaxResults"},
		{"MaxResults over 50 on a messaging op", "GET", "/channels/" + pathEsc(w.ch) + "/memberships?max-results=51", w.bearer(w.erin), "", "MaxResults"},
		{"101 MemberArns", "POST", "/channels/" + pathEsc(w.ch) + "/memberships?operation=batch-create", w.bearer(w.erin),
			`{"MemberArns":[` + strings.Join(arns, ",") + `],"Type":"DEFAULT"}`, "MemberArns"},
		{"empty MemberArns", "POST", "/channels/" + pathEsc(w.ch) + "/memberships?operation=batch-create", w.bearer(w.erin), `{"MemberArns":[]}`, "MemberArns"},
		{"bad ChannelId pattern", "POST", "/channels", w.bearer(w.erin),
			`{"AppInstanceArn":"` + w.ai + `","Name":"c","ClientRequestToken":"tok-c1","ChannelId":"-bad/id!"}`, "ChannelId"},
		// U+0000 fits no store (PostgreSQL text refuses it): a 400 on every store.
		{"Metadata with U+0000", "POST", "/app-instances", nil, `{"Name":"x","ClientRequestToken":"tok-a0","Metadata":"a\u0000b"}`, "Metadata"},
		// Invalid UTF-8 is refused in a body as in a path or query (README).
		{"Name with invalid UTF-8", "POST", "/app-instances", nil, "{\"Name\":\"ok\xff\xfeok\",\"ClientRequestToken\":\"tok-a8\"}", "Name"},
		{"Tag Value with invalid UTF-8", "POST", "/app-instances", nil, "{\"Name\":\"x\",\"ClientRequestToken\":\"tok-a9\",\"Tags\":[{\"Key\":\"k\",\"Value\":\"\xc3\"}]}", "Value"},
		{"path ARN with U+0000", "GET", "/app-instances/" + pathEsc(w.ai) + "%00", nil, "", "AppInstanceArn"},
		{"Name too long", "POST", "/app-instances", nil, `{"Name":"` + strings.Repeat("n", 257) + `","ClientRequestToken":"tok-a1"}`, "Name"},
		{"Name missing", "POST", "/app-instances", nil, `{"ClientRequestToken":"tok-a2"}`, "Name"},
		{"Name empty", "POST", "/app-instances", nil, `{"Name":"","ClientRequestToken":"tok-a3"}`, "Name"},
		{"ClientRequestToken missing", "POST", "/app-instances", nil, `{"Name":"x"}`, "ClientRequestToken"},
		{"ClientRequestToken pattern", "POST", "/app-instances", nil, `{"Name":"x","ClientRequestToken":"bad token!"}`, "ClientRequestToken"},
		{"Name wrong JSON type", "POST", "/app-instances", nil, `{"Name":5,"ClientRequestToken":"tok-a4"}`, "Name"},
		{"Tags wrong JSON type", "POST", "/app-instances", nil, `{"Name":"x","ClientRequestToken":"tok-a5","Tags":{"a":"b"}}`, "Tags"},
		{"Tag Value missing", "POST", "/app-instances", nil, `{"Name":"x","ClientRequestToken":"tok-a6","Tags":[{"Key":"a"}]}`, "Value"},
		{"Metadata too long", "POST", "/app-instances", nil, `{"Name":"x","ClientRequestToken":"tok-a7","Metadata":"` + strings.Repeat("m", 1025) + `"}`, "Metadata"},
		{"Configuration missing", "POST", "/app-instance-bots", nil, `{"AppInstanceArn":"` + w.ai + `","ClientRequestToken":"tok-b1"}`, "Configuration"},
		{"Lex LocaleId missing", "POST", "/app-instance-bots", nil,
			`{"AppInstanceArn":"` + w.ai + `","ClientRequestToken":"tok-b2","Configuration":{"Lex":{"LexBotAliasArn":"arn:aws:lex:us-east-1:123456789012:bot-alias/ABCDEFGHIJ/KLMNOPQRST"}}}`, "LocaleId"},
		{"Lex alias pattern", "POST", "/app-instance-bots", nil,
			`{"AppInstanceArn":"` + w.ai + `","ClientRequestToken":"tok-b3","Configuration":` + strings.Replace(lex, "ABCDEFGHIJ", "abc", 1) + `}`, "LexBotAliasArn"},
		// UserName's .*\S.* is Java's: a vertical tab is white space there.
		{"user Name of a vertical tab", "POST", "/app-instance-users", nil,
			`{"AppInstanceArn":"` + w.ai + `","AppInstanceUserId":"vt","Name":"\u000b","ClientRequestToken":"tok-u0"}`, "Name"},
		{"AppInstanceUserId pattern", "POST", "/app-instance-users", nil,
			`{"AppInstanceArn":"` + w.ai + `","AppInstanceUserId":"-bad-","Name":"x","ClientRequestToken":"tok-u1"}`, "AppInstanceUserId"},
		{"AppInstanceArn pattern", "POST", "/app-instance-users", nil,
			`{"AppInstanceArn":"not-an-arn","AppInstanceUserId":"ok","Name":"x","ClientRequestToken":"tok-u2"}`, "AppInstanceArn"},
		{"Mode enum", "POST", "/channels", w.bearer(w.erin), `{"AppInstanceArn":"` + w.ai + `","Name":"c","ClientRequestToken":"tok-c2","Mode":"OPEN"}`, "Mode"},
		{"ChannelArn in path", "GET", "/channels/not-an-arn", w.bearer(w.erin), "", "ChannelArn"},
		// ChimeArn ends in [^/].{0,1023}: a 1,025-character resource is refused, though within the shape's 1,600.
		{"MemberArn resource over 1024", "POST", "/channels/" + pathEsc(w.ch) + "/memberships", w.bearer(w.erin),
			`{"MemberArn":"arn:aws:chime:us-east-1:123456789012:` + strings.Repeat("r", 1025) + `","Type":"DEFAULT"}`, "MemberArn"},
		{"membership Type enum", "POST", "/channels/" + pathEsc(w.ch) + "/memberships", w.bearer(w.erin), `{"MemberArn":"` + w.bob + `","Type":"SECRET"}`, "Type"},
		// Empty path labels, as the JS SDK v3 sends them (it checks none): the
		// operation meant answers, naming the member (not a List of the same path).
		{"empty MessageId (GetChannelMessage)", "GET", "/channels/" + pathEsc(w.ch) + "/messages/", w.bearer(w.erin), "", "MessageId"},
		{"empty MemberArn (DescribeChannelMembership)", "GET", "/channels/" + pathEsc(w.ch) + "/memberships/", w.bearer(w.erin), "", "MemberArn"},
		{"empty ChannelArn (CreateChannelMembership)", "POST", "/channels//memberships", w.bearer(w.erin), `{"MemberArn":"` + w.bob + `","Type":"DEFAULT"}`, "ChannelArn"},
		{"empty MessageId (RedactChannelMessage)", "POST", "/channels/" + pathEsc(w.ch) + "/messages/?operation=redact", w.bearer(w.erin), "", "MessageId"},
		{"empty AppInstanceArn (DescribeAppInstance)", "GET", "/app-instances/", nil, "", "AppInstanceArn"},
		{"ExpirationDays range", "POST", "/app-instance-users", nil,
			`{"AppInstanceArn":"` + w.ai + `","AppInstanceUserId":"ok","Name":"x","ClientRequestToken":"tok-u3","ExpirationSettings":{"ExpirationDays":0,"ExpirationCriterion":"CREATED_TIMESTAMP"}}`,
			"ExpirationDays"},
	}
	for _, c := range cases {
		status, h, body := w.raw(c.method, c.path, c.headers, c.body)
		msg := wantWireError(t, c.name, status, h, body, 400, "BadRequestException", "BadRequest")
		if !strings.Contains(msg, c.field) {
			t.Errorf("%s: message %q does not name %s", c.name, msg, c.field)
		}
	}
	for _, c := range []struct{ name, body string }{
		{"invalid JSON", `{"Name":`},
		{"JSON array", `["Name"]`},
		{"trailing garbage", `{"Name":"x","ClientRequestToken":"tok-j1"} {}`},
		{"a closing brace and garbage after the object", `{"Name":"x","ClientRequestToken":"tok-j2"}}{"evil": true, garbage`},
	} {
		status, h, body := w.raw("POST", "/app-instances", nil, c.body)
		wantWireError(t, c.name, status, h, body, 400, "BadRequestException", "BadRequest")
	}
	// Rejected creates leave nothing behind.
	list, err := w.ID.ListAppInstances(w.ctx, &chimesdkidentity.ListAppInstancesInput{})
	noErr(t, err)
	if len(list.AppInstances) != 1 {
		t.Errorf("invalid creates left app instances behind: %+v", list.AppInstances)
	}
	// The SDK sends 101 MemberArns (it checks no maximum); the server refuses them.
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("%s/user/u%d", w.ai, i)
	}
	_, err = w.Msg.BatchCreateChannelMembership(w.ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: aws.String(w.ch), MemberArns: many,
		ChimeBearer: aws.String(w.erin)})
	wantErr(t, err, "BadRequestException")
	// The SDK checks no pattern either: an ARN whose resource is over 1,024 characters reaches the server.
	_, err = w.Msg.CreateChannelMembership(w.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(w.ch),
		MemberArn: aws.String("arn:aws:chime:us-east-1:123456789012:" + strings.Repeat("r", 1025)), Type: types.ChannelMembershipTypeDefault,
		ChimeBearer: aws.String(w.erin)})
	wantErr(t, err, "BadRequestException")
	var ae smithy.APIError
	if !errors.As(err, &ae) || !strings.Contains(ae.ErrorMessage(), "MemberArn") {
		t.Errorf("the SDK's error %v does not name MemberArn", err)
	}
	// A required member that was sent, with a fault inside it, is named for
	// that fault alone: not also as missing.
	for _, c := range []struct {
		call func() error
		want string
	}{
		{func() error {
			_, err := w.ID.TagResource(w.ctx, &chimesdkidentity.TagResourceInput{ResourceARN: aws.String(w.ai),
				Tags: []idtypes.Tag{{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", 257))}}})
			return err
		}, "1 validation error detected: 'Tags.1.Value' must have length less than or equal to 256."},
		{func() error {
			_, err := w.ID.PutAppInstanceRetentionSettings(w.ctx, &chimesdkidentity.PutAppInstanceRetentionSettingsInput{AppInstanceArn: aws.String(w.ai),
				AppInstanceRetentionSettings: &idtypes.AppInstanceRetentionSettings{ChannelRetentionSettings: &idtypes.ChannelRetentionSettings{RetentionDays: aws.Int32(0)}}})
			return err
		}, "1 validation error detected: 'AppInstanceRetentionSettings.ChannelRetentionSettings.RetentionDays' must have value greater than or equal to 1."},
	} {
		err := c.call()
		wantErr(t, err, "BadRequestException")
		if !errors.As(err, &ae) || ae.ErrorMessage() != c.want {
			t.Errorf("got %v, want the message %q", err, c.want)
		}
	}
}

// TestWireMissingBearerIs401_D5: a missing, malformed, unknown or foreign
// x-amz-chime-bearer is 401 UnauthorizedClientException, not a 400.
func TestWireMissingBearerIs401_D5(t *testing.T) {
	w := newWireWorld(t)
	otherAI := w.appInstance("other")
	stranger := w.user(otherAI, "stranger")
	ops := []struct{ name, method, path, body string }{
		{"DescribeChannel", "GET", "/channels/" + pathEsc(w.ch), ""},
		{"CreateChannel", "POST", "/channels", `{"AppInstanceArn":"` + w.ai + `","Name":"c","ClientRequestToken":"tok-c"}`},
		{"CreateChannelMembership", "POST", "/channels/" + pathEsc(w.ch) + "/memberships", `{"MemberArn":"` + w.bob + `","Type":"DEFAULT"}`},
		{"BatchCreateChannelMembership", "POST", "/channels/" + pathEsc(w.ch) + "/memberships?operation=batch-create", `{"MemberArns":["` + w.bob + `"]}`},
		{"ListChannelMemberships", "GET", "/channels/" + pathEsc(w.ch) + "/memberships", ""},
		{"ListChannelMembershipsForAppInstanceUser", "GET", "/channels?scope=app-instance-user-memberships", ""},
		{"ListChannels", "GET", "/channels?app-instance-arn=" + pathEsc(w.ai), ""},
		{"DeleteChannel", "DELETE", "/channels/" + pathEsc(w.ch), ""},
	}
	bearers := map[string]string{
		"missing":            "",
		"malformed":          "not an arn",
		"unknown user":       w.ai + "/user/ghost",
		"other app instance": stranger,
		// Not UTF-8: PostgreSQL cannot even look it up (it answered 500).
		"invalid UTF-8": w.ai + "/user/\xff",
	}
	for _, op := range ops {
		for bname, b := range bearers {
			if op.name == "ListChannelMembershipsForAppInstanceUser" && bname == "other app instance" {
				continue // the bearer lists its own memberships: no other app instance is involved
			}
			h := map[string]string{"Content-Type": "application/json"}
			if b != "" {
				h["x-amz-chime-bearer"] = b
			}
			status, hdr, body := w.raw(op.method, op.path, h, op.body)
			what := op.name + " with " + bname + " bearer"
			msg := wantWireError(t, what, status, hdr, body, 401, "UnauthorizedClientException", "Unauthorized")
			if msg != "An invalid app instance user ARN was supplied for the x-amz-chime-bearer HTTP header." {
				t.Errorf("%s: message %q", what, msg)
			}
		}
	}
	// Nothing happened: the channel is still there and bob is not a member.
	m, err := w.Msg.ListChannelMemberships(w.ctx, &chimesdkmessaging.ListChannelMembershipsInput{ChannelArn: aws.String(w.ch), ChimeBearer: aws.String(w.erin)})
	noErr(t, err)
	if len(m.ChannelMemberships) != 1 {
		t.Errorf("unauthorised calls changed the channel: %+v", m.ChannelMemberships)
	}
}

// TestWireUnsignedAndForeignSignaturesAccepted_D14: unsigned requests are
// accepted (account 000000000000, us-east-1); a signature is not verified,
// but its credential scope gives the account and region.
func TestWireUnsignedAndForeignSignaturesAccepted_D14(t *testing.T) {
	e := newEnv(t)
	status, h, body := e.raw("POST", "/app-instances", map[string]string{"Content-Type": "application/json"}, `{"Name":"unsigned","ClientRequestToken":"tok-unsigned"}`)
	if status != 201 || h.Get("x-amzn-RequestId") == "" {
		t.Fatalf("unsigned CreateAppInstance: %d %s", status, body)
	}
	var out struct{ AppInstanceArn string }
	if err := json.Unmarshal([]byte(body), &out); err != nil || !strings.HasPrefix(out.AppInstanceArn, "arn:aws:chime:us-east-1:000000000000:app-instance/") {
		t.Fatalf("unsigned CreateAppInstance body %s", body)
	}
	status, _, body = e.raw("POST", "/app-instances", signedAs("210987654321", "eu-west-1"), `{"Name":"forged","ClientRequestToken":"tok-forged"}`)
	if status != 201 || !strings.Contains(body, `"arn:aws:chime:eu-west-1:210987654321:app-instance/`) {
		t.Fatalf("signed (unverified) CreateAppInstance: %d %s", status, body)
	}
	status, _, body = e.raw("GET", "/app-instances", signedAs("210987654321", "eu-west-1"), "")
	if status != 200 || !strings.Contains(body, "forged") || strings.Contains(body, "unsigned") {
		t.Fatalf("ListAppInstances for the signed account: %d %s", status, body)
	}
}

// TestWireSuccessCodes: success statuses come from the model (201 creates,
// 204 deletes and tag changes, 200 for the rest, batch included).
func TestWireSuccessCodes(t *testing.T) {
	w := newWireWorld(t)
	ctx := w.ctx
	check := func(op string, out any, err error, want int) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if got := outStatus(out); got != want {
			t.Errorf("%s: status %d, want %d", op, got, want)
		}
	}
	ai, err := w.ID.CreateAppInstance(ctx, &chimesdkidentity.CreateAppInstanceInput{Name: aws.String("codes"), ClientRequestToken: aws.String(token())})
	check("CreateAppInstance", ai, err, 201)
	app := *ai.AppInstanceArn
	u, err := w.ID.CreateAppInstanceUser(ctx, &chimesdkidentity.CreateAppInstanceUserInput{AppInstanceArn: aws.String(app), AppInstanceUserId: aws.String("erin@example.com"),
		Name: aws.String("Erin"), ClientRequestToken: aws.String(token())})
	check("CreateAppInstanceUser", u, err, 201)
	erin := *u.AppInstanceUserArn
	bob := w.user(app, "bob")
	carol := w.user(app, "carol")
	dave := w.user(app, "dave")
	b, err := w.ID.CreateAppInstanceBot(ctx, &chimesdkidentity.CreateAppInstanceBotInput{AppInstanceArn: aws.String(app), Name: aws.String("bot"),
		ClientRequestToken: aws.String(token()), Configuration: lexConfig("en_US")})
	check("CreateAppInstanceBot", b, err, 201)
	ad, err := w.ID.CreateAppInstanceAdmin(ctx, &chimesdkidentity.CreateAppInstanceAdminInput{AppInstanceArn: aws.String(app), AppInstanceAdminArn: aws.String(bob)})
	check("CreateAppInstanceAdmin", ad, err, 201)
	d, err := w.ID.DescribeAppInstance(ctx, &chimesdkidentity.DescribeAppInstanceInput{AppInstanceArn: aws.String(app)})
	check("DescribeAppInstance", d, err, 200)
	l, err := w.ID.ListAppInstanceUsers(ctx, &chimesdkidentity.ListAppInstanceUsersInput{AppInstanceArn: aws.String(app)})
	check("ListAppInstanceUsers", l, err, 200)
	up, err := w.ID.UpdateAppInstanceUser(ctx, &chimesdkidentity.UpdateAppInstanceUserInput{AppInstanceUserArn: aws.String(erin), Name: aws.String("E"), Metadata: aws.String("")})
	check("UpdateAppInstanceUser", up, err, 200)

	ch, err := w.Msg.CreateChannel(ctx, &chimesdkmessaging.CreateChannelInput{AppInstanceArn: aws.String(app), Name: aws.String("c"), ChimeBearer: aws.String(erin),
		ClientRequestToken: aws.String(token())})
	check("CreateChannel", ch, err, 201)
	c := ch.ChannelArn
	cm, err := w.Msg.CreateChannelMembership(ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: c, MemberArn: aws.String(bob),
		Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(erin)})
	check("CreateChannelMembership", cm, err, 201)
	bm, err := w.Msg.BatchCreateChannelMembership(ctx, &chimesdkmessaging.BatchCreateChannelMembershipInput{ChannelArn: c, MemberArns: []string{carol, app + "/user/ghost"},
		ChimeBearer: aws.String(erin)})
	check("BatchCreateChannelMembership (partial)", bm, err, 200)
	if len(bm.BatchChannelMemberships.Members) != 1 || len(bm.Errors) != 1 {
		t.Errorf("batch: %d added, %d errors; want 1 and 1", len(bm.BatchChannelMemberships.Members), len(bm.Errors))
	}
	mo, err := w.Msg.CreateChannelModerator(ctx, &chimesdkmessaging.CreateChannelModeratorInput{ChannelArn: c, ChannelModeratorArn: aws.String(carol), ChimeBearer: aws.String(erin)})
	check("CreateChannelModerator", mo, err, 201)
	ba, err := w.Msg.CreateChannelBan(ctx, &chimesdkmessaging.CreateChannelBanInput{ChannelArn: c, MemberArn: aws.String(dave), ChimeBearer: aws.String(erin)})
	check("CreateChannelBan", ba, err, 201)
	dc, err := w.Msg.DescribeChannel(ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: c, ChimeBearer: aws.String(erin)})
	check("DescribeChannel", dc, err, 200)
	uc, err := w.Msg.UpdateChannel(ctx, &chimesdkmessaging.UpdateChannelInput{ChannelArn: c, Name: aws.String("c2"), ChimeBearer: aws.String(erin)})
	check("UpdateChannel", uc, err, 200)
	tg, err := w.Msg.TagResource(ctx, &chimesdkmessaging.TagResourceInput{ResourceARN: c, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	check("TagResource", tg, err, 204)
	ut, err := w.Msg.UntagResource(ctx, &chimesdkmessaging.UntagResourceInput{ResourceARN: c, TagKeys: []string{"k"}})
	check("UntagResource", ut, err, 204)
	lt, err := w.Msg.ListTagsForResource(ctx, &chimesdkmessaging.ListTagsForResourceInput{ResourceARN: c})
	check("ListTagsForResource", lt, err, 200)

	db, err := w.Msg.DeleteChannelBan(ctx, &chimesdkmessaging.DeleteChannelBanInput{ChannelArn: c, MemberArn: aws.String(dave), ChimeBearer: aws.String(erin)})
	check("DeleteChannelBan", db, err, 204)
	dm, err := w.Msg.DeleteChannelModerator(ctx, &chimesdkmessaging.DeleteChannelModeratorInput{ChannelArn: c, ChannelModeratorArn: aws.String(carol), ChimeBearer: aws.String(erin)})
	check("DeleteChannelModerator", dm, err, 204)
	dms, err := w.Msg.DeleteChannelMembership(ctx, &chimesdkmessaging.DeleteChannelMembershipInput{ChannelArn: c, MemberArn: aws.String(carol), ChimeBearer: aws.String(erin)})
	check("DeleteChannelMembership", dms, err, 204)
	dch, err := w.Msg.DeleteChannel(ctx, &chimesdkmessaging.DeleteChannelInput{ChannelArn: c, ChimeBearer: aws.String(erin)})
	check("DeleteChannel", dch, err, 204)
	dad, err := w.ID.DeleteAppInstanceAdmin(ctx, &chimesdkidentity.DeleteAppInstanceAdminInput{AppInstanceArn: aws.String(app), AppInstanceAdminArn: aws.String(bob)})
	check("DeleteAppInstanceAdmin", dad, err, 204)
	dbot, err := w.ID.DeleteAppInstanceBot(ctx, &chimesdkidentity.DeleteAppInstanceBotInput{AppInstanceBotArn: b.AppInstanceBotArn})
	check("DeleteAppInstanceBot", dbot, err, 204)
	du, err := w.ID.DeleteAppInstanceUser(ctx, &chimesdkidentity.DeleteAppInstanceUserInput{AppInstanceUserArn: aws.String(erin)})
	check("DeleteAppInstanceUser", du, err, 204)
	dai, err := w.ID.DeleteAppInstance(ctx, &chimesdkidentity.DeleteAppInstanceInput{AppInstanceArn: aws.String(app)})
	check("DeleteAppInstance", dai, err, 204)

	// Raw: a 201 has a JSON body, a 204 none at all.
	status, h, body := w.raw("POST", "/app-instances", nil, `{"Name":"raw","ClientRequestToken":"tok-raw-201"}`)
	if status != 201 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !strings.Contains(body, `"AppInstanceArn"`) {
		t.Errorf("raw create: %d %q %s", status, h.Get("Content-Type"), body)
	}
	status, _, body = w.raw("DELETE", "/app-instance-users/"+pathEsc(w.bob), nil, "")
	if status != 204 || body != "" {
		t.Errorf("raw delete: %d %q", status, body)
	}
}

// outStatus returns the HTTP status behind any SDK operation output, read
// from its ResultMetadata field; -1 when it has none.
func outStatus(out any) int {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return -1
	}
	f := v.Elem().FieldByName("ResultMetadata")
	if !f.IsValid() {
		return -1
	}
	md, ok := f.Interface().(middleware.Metadata)
	if !ok {
		return -1
	}
	return httpStatus(md)
}
