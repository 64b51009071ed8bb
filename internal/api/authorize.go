package api

import (
	"strings"

	"github.com/belfry/belfry/internal/chime"
)

// The one place where a key's scope is enforced (issue 6, per-key scopes, in
// the spirit of IAM policies). The REST pipeline calls authorize with the
// validated input of every operation; the messaging session calls
// AuthorizeConnect. A refusal is a 403 ForbiddenException naming the key,
// the action and the resource, as an IAM denial reads.
//
//   - account admin: everything.
//   - app instance: every operation whose resources, every ARN in its input
//     and its x-amz-chime-bearer, lie in that app instance. Operations on the
//     account as a whole (CreateAppInstance, ListAppInstances) are refused.
//   - user or bot: only chime-sdk-messaging operations that take a bearer,
//     only with x-amz-chime-bearer equal to that user, and only on resources
//     of its app instance; its own messaging session. Identity operations
//     (and the tag operations, which take no bearer) need an admin or
//     app-instance key.
//
// GetMessagingSessionEndpoint names no resource and is allowed to every key,
// as amazon-chime-sdk-js calls it before it connects.

const messagingService = "Chime SDK Messaging"

// authorize checks that p's scope allows operation spec with input in (as
// decodeInput returns it).
// Errors: Forbidden.
func authorize(p chime.Principal, spec *opSpec, in map[string]any) error {
	switch p.Scope.Kind {
	case chime.ScopeAccount:
		return nil
	case chime.ScopeNone:
		return denied(p, spec.name, "*")
	}
	if spec.name == "GetMessagingSessionEndpoint" {
		return nil
	}
	arns, bearer := inputARNs(spec, in)
	switch p.Scope.Kind {
	case chime.ScopeAppInstance:
		if len(arns) == 0 && bearer == "" {
			return denied(p, spec.name, "*")
		}
		for _, a := range append(arns, bearer) {
			if a != "" && chime.AppInstanceOf(a) != p.Scope.ARN {
				return denied(p, spec.name, a)
			}
		}
		return nil
	case chime.ScopeUser:
		if spec.service != messagingService || !hasMember(spec, bearerMember) {
			return denied(p, spec.name, "*")
		}
		if bearer != p.Scope.ARN {
			return chime.Errorf(chime.KindForbidden, "User: %s is not authorized to perform: chime:%s with x-amz-chime-bearer %q: its key is bound to %s.",
				p.AccessKeyID, spec.name, bearer, p.Scope.ARN)
		}
		home := chime.AppInstanceOf(p.Scope.ARN)
		for _, a := range arns {
			if chime.AppInstanceOf(a) != home {
				return denied(p, spec.name, a)
			}
		}
		return nil
	}
	return denied(p, spec.name, "*")
}

// AuthorizeConnect checks that p may open the messaging session of userArn
// (chime:Connect on the AppInstanceUser). A user of another account or
// region is refused as a user that does not exist (see ownAccount).
// Errors: Forbidden, Unauthorized.
func AuthorizeConnect(p chime.Principal, userArn string) error {
	switch p.Scope.Kind {
	case chime.ScopeAccount:
		if p.AccessKeyID != "" && elsewhere(p, userArn) {
			return chime.Errorf(chime.KindUnauthorized, "The userArn %q is not an existing app instance user or bot.", userArn)
		}
		return nil
	case chime.ScopeAppInstance:
		if chime.AppInstanceOf(userArn) == p.Scope.ARN {
			return inScopeRegion(p, userArn)
		}
	case chime.ScopeUser:
		if userArn == p.Scope.ARN {
			return inScopeRegion(p, userArn)
		}
	}
	return denied(p, "Connect", userArn)
}

// inScopeRegion refuses, as the admin key's elsewhere does, a session of a
// scoped key's own user asked for in another region than the user's: the
// region is the signature's (rule D14), whatever the key.
func inScopeRegion(p chime.Principal, userArn string) error {
	if elsewhere(scopeHome(p), userArn) {
		return chime.Errorf(chime.KindUnauthorized, "The userArn %q is not an existing app instance user or bot.", userArn)
	}
	return nil
}

// scopeHome returns p with the account of its scope's ARN: a key of one app
// instance or user is of that ARN's account, whatever --account-id says
// (authorize holds its resources to that ARN). Its region stays the
// signature's.
func scopeHome(p chime.Principal) chime.Principal {
	if a, ok := chime.ParseARN(p.Scope.ARN); ok {
		p.Account = a.Account
	}
	return p
}

func denied(p chime.Principal, action, resource string) error {
	return chime.Errorf(chime.KindForbidden, "User: %s is not authorized to perform: chime:%s on resource: %s", p.AccessKeyID, action, resource)
}

func hasMember(spec *opSpec, name string) bool {
	if spec.input == nil {
		return false
	}
	_, ok := spec.input.Members[name]
	return ok
}

// isARNMember tells whether a top-level input member names Chime resources:
// the model's ChimeArn shapes (and lists of them) and the members named *Arn.
// loadModels keeps the answer in opSpec.arnMembers.
func isARNMember(spec *opSpec, name string, r ref) bool {
	if name == bearerMember {
		return false
	}
	s := spec.shapes[r.Shape]
	if s == nil {
		return false
	}
	if s.Type == "list" && s.Member != nil {
		return strings.HasSuffix(s.Member.Shape, "ChimeArn")
	}
	if s.Type != "string" {
		return false
	}
	return strings.HasSuffix(r.Shape, "ChimeArn") || strings.HasSuffix(name, "Arn") || strings.HasSuffix(name, "ARN")
}

// inputARNs returns the resource ARNs of a validated input, in the order
// of spec.arnMembers, and its bearer.
func inputARNs(spec *opSpec, in map[string]any) (arns []string, bearer string) {
	bearer, _ = in[bearerMember].(string)
	for _, name := range spec.arnMembers {
		switch v := in[name].(type) {
		case string:
			arns = append(arns, v)
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					arns = append(arns, s)
				}
			}
		}
	}
	return arns, bearer
}

// ownAccount holds a key of the whole account (an admin key, and every
// signed request in the open mode) to its own account and region, as AWS
// does: an account sees only its own resources. The account is the
// principal's (--account-id, else rule D14), the region its credential
// scope's. A request naming a resource of another account or region is
// answered exactly as one naming a resource that does not exist:
//
//   - a request with a bearer: 401 UnauthorizedClientException, as the
//     service answers a bearer that is unknown or of another app instance
//     than the resource, before it looks for the resource (rule D5): a
//     bearer of the caller's own account is of another app instance than
//     a resource elsewhere, and a bearer elsewhere is unknown;
//   - else the resource the operation works on (its app instance, channel,
//     user, bot or tagged resource) elsewhere: 404 NotFoundException with
//     the service's message for a missing one.
//
// Other ARNs of the input (members, moderators, admins, the user of a
// messaging call) need no check here: the service takes them only within
// the app instance of the resource, and refuses them there as it refuses
// missing ones. ARNs that do not parse are left to the service too.
//
// Keys of one app instance or one user are held to their scope's ARN by
// authorize, which fixes the account; here they are held to the region of
// their signature, as an admin key is. An unsigned request in the open mode claims no
// account and is not held to one, so that development tools (curl, a
// WebSocket client with just userArn) keep working.
// Errors: Unauthorized, NotFound.
func ownAccount(p chime.Principal, spec *opSpec, in map[string]any) error {
	if p.AccessKeyID == "" || spec.input == nil {
		return nil
	}
	switch p.Scope.Kind {
	case chime.ScopeAccount:
	case chime.ScopeAppInstance, chime.ScopeUser:
		p = scopeHome(p)
	default:
		return nil
	}
	bearer, _ := in[bearerMember].(string)
	if hasMember(spec, bearerMember) && elsewhere(p, bearer) {
		return chime.Errorf(chime.KindUnauthorized, chime.MsgInvalidBearer)
	}
	for _, r := range spec.resources {
		if arn, _ := in[r.member].(string); elsewhere(p, arn) {
			if bearer != "" {
				return chime.Errorf(chime.KindUnauthorized, chime.MsgInvalidBearer)
			}
			return chime.Errorf(chime.KindNotFound, r.missing, arn)
		}
	}
	return nil
}

// A resource member of an input and the service's message when it is missing.
type resourceMember struct{ member, missing string }

var (
	identityResources = []resourceMember{
		{"AppInstanceArn", "The app instance %s does not exist."},
		{"AppInstanceUserArn", "The app instance " + chime.KindUser + " %s does not exist."},
		{"AppInstanceBotArn", "The app instance " + chime.KindBot + " %s does not exist."},
		{"ResourceARN", "The resource %s does not exist."},
	}
	// In a messaging call, AppInstanceUserArn is not the resource: the
	// service looks it up within the bearer's app instance.
	messagingResources = []resourceMember{
		{"AppInstanceArn", "The app instance %s does not exist."},
		{"ChannelArn", "The channel %s does not exist."},
		{"ResourceARN", "The resource %s does not exist."},
	}
)

// resourceMembers returns the resource members of spec's service; loadModels
// keeps those its input has in opSpec.resources.
func resourceMembers(spec *opSpec) []resourceMember {
	if spec.service == messagingService {
		return messagingResources
	}
	return identityResources
}

// elsewhere tells whether arn is a Chime ARN of another account or region than p's.
func elsewhere(p chime.Principal, arn string) bool {
	// ParseARN reads the region and account as the 4th and 5th of 6 or
	// more fields split at ':'. Without them, or when they are p's, the
	// answer is no whatever it makes of the rest (and costs no parse).
	var region, account string
	rest := arn
	for i := range 5 {
		j := strings.IndexByte(rest, ':')
		if j < 0 {
			return false
		}
		switch i {
		case 3:
			region = rest[:j]
		case 4:
			account = rest[:j]
		}
		rest = rest[j+1:]
	}
	if region == p.Region && account == p.Account {
		return false
	}
	a, ok := chime.ParseARN(arn)
	return ok && (a.Account != p.Account || a.Region != p.Region)
}
