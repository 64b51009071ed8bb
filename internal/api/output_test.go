package api

import (
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

// TestCreateChannelMembershipOutput: the output, appended and through
// json.Marshal, gives the bytes of the map it replaced, also with every
// string of jsonStrings in each field.
func TestCreateChannelMembershipOutput(t *testing.T) {
	for _, m := range outputMemberships {
		sameOutput(t, m)
	}
	for _, s := range jsonStrings() {
		for _, m := range outputMemberships {
			for i := range 4 {
				m := m
				*[]*string{&m.ChannelArn, &m.Member.Arn, &m.Member.Name, &m.SubChannelID}[i] = s
				sameOutput(t, m)
			}
		}
	}
}

// BenchmarkCreateChannelMembershipOutput: the response body, from the map,
// from the struct through json.Marshal (its MarshalJSON) and appended.
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
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 512)
		for range b.N {
			buf = createChannelMembershipOutput(m).appendJSON(buf[:0])
		}
	})
}
