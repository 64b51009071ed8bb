package api

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/belfry/belfry/internal/chime"
)

// The memberships CreateChannelMembership's response is checked on: every
// field empty or not, and strings JSON escapes.
var outputMemberships = []chime.Membership{
	{},
	{ChannelArn: fzPub, Member: chime.Identity{Arn: fzErin, Name: "Erin"}, SubChannelID: "sub-1"},
	{ChannelArn: fzPub, Member: chime.Identity{Arn: fzErin}},
	{ChannelArn: "<&>\u2028\"\\\n", Member: chime.Identity{Name: "no arn"}, SubChannelID: "ü😀"},
	{Member: chime.Identity{Arn: fzU1, Name: "\x00<b>"}},
}

// TestCreateChannelMembershipOutput: the struct encodes to the bytes of the
// map it replaced.
func TestCreateChannelMembershipOutput(t *testing.T) {
	for _, m := range outputMemberships {
		old, err := json.Marshal(map[string]any{"ChannelArn": m.ChannelArn, "Member": identityOut(m.Member), "SubChannelId": str(m.SubChannelID)})
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(createChannelMembershipOutput(m))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, old) {
			t.Errorf("%+v:\n got %s\nwant %s", m, got, old)
		}
	}
}

// BenchmarkCreateChannelMembershipOutput: the response body, from the map
// and from the struct.
func BenchmarkCreateChannelMembershipOutput(b *testing.B) {
	m := outputMemberships[1]
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			json.Marshal(map[string]any{"ChannelArn": m.ChannelArn, "Member": identityOut(m.Member), "SubChannelId": str(m.SubChannelID)})
		}
	})
	b.Run("struct", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			json.Marshal(createChannelMembershipOutput(m))
		}
	})
}
