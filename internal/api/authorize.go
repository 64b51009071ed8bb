package api

import (
	"encoding/json"
	"fmt"
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

// authorize checks that p's scope allows operation spec with input in.
// Errors: Forbidden.
func authorize(p chime.Principal, spec *opSpec, in json.RawMessage) error {
	switch p.Scope.Kind {
	case chime.ScopeAccount:
		return nil
	case chime.ScopeNone:
		return denied(p, spec.name, "*")
	}
	if spec.name == "GetMessagingSessionEndpoint" {
		return nil
	}
	arns, bearer, err := inputARNs(spec, in)
	if err != nil {
		return err
	}
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
// (chime:Connect on the AppInstanceUser). Errors: Forbidden.
func AuthorizeConnect(p chime.Principal, userArn string) error {
	switch p.Scope.Kind {
	case chime.ScopeAccount:
		return nil
	case chime.ScopeAppInstance:
		if chime.AppInstanceOf(userArn) == p.Scope.ARN {
			return nil
		}
	case chime.ScopeUser:
		if userArn == p.Scope.ARN {
			return nil
		}
	}
	return denied(p, "Connect", userArn)
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

// inputARNs returns the resource ARNs of a validated input and its bearer.
func inputARNs(spec *opSpec, in json.RawMessage) (arns []string, bearer string, err error) {
	if spec.input == nil {
		return nil, "", nil
	}
	var vals map[string]any
	if err := json.Unmarshal(in, &vals); err != nil {
		return nil, "", fmt.Errorf("decode validated input: %w", err)
	}
	bearer, _ = vals[bearerMember].(string)
	for name, r := range spec.input.Members {
		if !isARNMember(spec, name, r) {
			continue
		}
		switch v := vals[name].(type) {
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
	return arns, bearer, nil
}
