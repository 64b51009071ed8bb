package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging"
	"github.com/aws/aws-sdk-go-v2/service/chimesdkmessaging/types"
)

// TestSmoke walks the seed documents' path: app instance, users, channel,
// CreateChannelMembership and ListChannelMembershipsForAppInstanceUser.
func TestSmoke(t *testing.T) {
	e := newEnv(t)
	ai := e.appInstance("smoke")
	erin := e.user(ai, "erin@example.com")
	bob := e.user(ai, "bob")
	ch := e.channel(ai, erin, "UNRESTRICTED", "PUBLIC")
	out, err := e.Msg.CreateChannelMembership(e.ctx, &chimesdkmessaging.CreateChannelMembershipInput{ChannelArn: aws.String(ch),
		MemberArn: aws.String(bob), Type: types.ChannelMembershipTypeDefault, ChimeBearer: aws.String(erin)})
	noErr(t, err)
	if *out.Member.Arn != bob || *out.ChannelArn != ch {
		t.Fatalf("unexpected membership %+v", out)
	}
	list, err := e.Msg.ListChannelMembershipsForAppInstanceUser(e.ctx, &chimesdkmessaging.ListChannelMembershipsForAppInstanceUserInput{ChimeBearer: aws.String(bob)})
	noErr(t, err)
	if len(list.ChannelMemberships) != 1 || *list.ChannelMemberships[0].ChannelSummary.ChannelArn != ch || list.NextToken != nil {
		t.Fatalf("unexpected list %+v", list)
	}
	_, err = e.Msg.DescribeChannel(e.ctx, &chimesdkmessaging.DescribeChannelInput{ChannelArn: aws.String(ch), ChimeBearer: aws.String(ai + "/user/nobody")})
	wantErr(t, err, "UnauthorizedClientException")
}
