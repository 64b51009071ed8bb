package api

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/belfry/belfry/internal/chime"
)

// jsonStrings are strings with every byte, alone and amid text, and the
// runes json.Marshal escapes.
func jsonStrings() []string {
	out := []string{"", "plain", "<a href=\"x\">&amp;</a>", "line\nbreak\ttab\\ \u2028\u2029", "ünïcödé 😀", "\ufffd", "\xef\xbf\xbd",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc3", "é\xc3", "\xe2\x80", "\xe2\x80\xa8x", "\u2027\u202a", "\x7f\u0080\u009f"}
	for c := 0; c < 256; c++ {
		out = append(out, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"bc")
	}
	return out
}

func sameAsMarshal(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendJSONString([]byte("prefix"), s); !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("%q: %s, json.Marshal %s", s, got[len("prefix"):], want)
	}
}

// TestAppendJSONString: appendJSONString writes what json.Marshal writes.
func TestAppendJSONString(t *testing.T) {
	for _, s := range jsonStrings() {
		sameAsMarshal(t, s)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStrings() {
		f.Add(s)
	}
	f.Fuzz(sameAsMarshal)
}

// sameOutput fails t unless m's CreateChannelMembership output, appended
// and through json.Marshal, is byte for byte what the map it replaced gives.
func sameOutput(t *testing.T, m chime.Membership) {
	t.Helper()
	ref := map[string]any{"ChannelArn": m.ChannelArn, "Member": identityOut(m.Member), "SubChannelId": str(m.SubChannelID)}
	omitNils(ref) // as the server writes a map
	old, err := json.Marshal(ref)
	if err != nil {
		t.Fatal(err)
	}
	out := createChannelMembershipOutput(m)
	if got := out.appendJSON(nil); !bytes.Equal(got, old) {
		t.Fatalf("%+v: appendJSON\n got %s\nwant %s", m, got, old)
	}
	if got, err := json.Marshal(out); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("%+v: json.Marshal\n got %s (%v)\nwant %s", m, got, err, old)
	}
}

// FuzzCreateChannelMembershipOutput: any strings in every field.
func FuzzCreateChannelMembershipOutput(f *testing.F) {
	for _, m := range outputMemberships {
		f.Add(m.ChannelArn, m.Member.Arn, m.Member.Name, m.SubChannelID)
	}
	f.Fuzz(func(t *testing.T, channel, arn, name, sub string) {
		sameOutput(t, chime.Membership{ChannelArn: channel, Member: chime.Identity{Arn: arn, Name: name}, SubChannelID: sub})
	})
}
