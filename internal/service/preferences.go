package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// maxFilterRuleBytes is the size limit of a push notification filter rule
// ("a total filter rules size of 2KB", AWS developer guide, "Using filter
// rules to filter messages").
const maxFilterRuleBytes = 2048

// ChannelMembershipPreferences is a member's membership with its preferences.
type ChannelMembershipPreferences struct {
	ChannelArn  string
	Member      chime.Identity
	Preferences *chime.MembershipPreferences // nil: the member never put any
}

// ownMembership checks that the bearer may get or put the preferences of
// memberArn's membership (SEMANTICS.md §5 "Preferences"): only the member
// itself, never an admin or moderator for someone else, not a banned user,
// and not in an elastic channel (§6 "Not supported in elastic channels"). A
// non-member is answered as DescribeChannelMembership answers it: 403 in a
// PRIVATE channel, 404 in a PUBLIC one.
func (s *Service) ownMembership(tx *store.Tx, c chime.Caller, channelArn, memberArn string) (role, error) {
	r, err := s.roleIn(tx, c, channelArn)
	if err != nil {
		return r, err
	}
	if r.channel.Elastic != nil {
		return r, chime.Errorf(chime.KindBadRequest, "Channel membership preferences are not supported in elastic channels.")
	}
	if memberArn != r.bearer.Arn {
		return r, forbidden("Only the member itself can get or put its channel membership preferences; app instance admins and moderators cannot for others.")
	}
	if err := r.canRead(); err != nil {
		return r, err
	}
	if !r.member {
		return r, chime.Errorf(chime.KindNotFound, "%s is not a member of %s.", memberArn, channelArn)
	}
	return r, nil
}

// GetChannelMembershipPreferences returns the bearer's own preferences in a
// channel (Preferences nil when it never put any).
// Errors: Unauthorized, NotFound, Forbidden, BadRequest (elastic channel).
func (s *Service) GetChannelMembershipPreferences(ctx context.Context, c chime.Caller, channelArn, memberArn string) (ChannelMembershipPreferences, error) {
	var out ChannelMembershipPreferences
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		r, err := s.ownMembership(tx, c, channelArn, memberArn)
		if err != nil {
			return err
		}
		p, err := tx.GetMembershipPreferences(channelArn, memberArn)
		out = ChannelMembershipPreferences{ChannelArn: channelArn, Member: identityOf(r.bearer), Preferences: p}
		return notFoundAs(err, "%s is not a member of %s.", memberArn, channelArn)
	})
	return out, err
}

// PutChannelMembershipPreferences replaces the bearer's own preferences in a
// channel and returns them. A FilterRule must be a JSON object of at most
// 2 KB; it is optional, even with AllowNotifications FILTERED (the model and
// the API reference make it optional).
// Errors: Unauthorized, NotFound, Forbidden, BadRequest (filter rule, elastic channel).
func (s *Service) PutChannelMembershipPreferences(ctx context.Context, c chime.Caller, channelArn, memberArn string, p chime.MembershipPreferences) (ChannelMembershipPreferences, error) {
	if err := checkFilterRule(p); err != nil {
		return ChannelMembershipPreferences{}, err
	}
	var out ChannelMembershipPreferences
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		r, err := s.ownMembership(tx, c, channelArn, memberArn)
		if err != nil {
			return err
		}
		ok, err := tx.PutMembershipPreferences(channelArn, memberArn, p, s.clock())
		if err == nil && !ok {
			err = chime.Errorf(chime.KindNotFound, "%s is not a member of %s.", memberArn, channelArn)
		}
		out = ChannelMembershipPreferences{ChannelArn: channelArn, Member: identityOf(r.bearer), Preferences: &p}
		return err
	})
	return out, err
}

// checkFilterRule applies the documented form of a filter rule (AWS
// developer guide, "Using filter rules to filter messages"): an escaped JSON
// object of 2 KB at most, each key a message attribute with a list of values
// to match exactly (a string, or {"anything-but": a string or strings}; no
// list may be empty, as SNS filter policies allow none),
// or "$or" with at most 5 such objects; at most 20 keys and values in all
// ("complexity": the key "anything-but" is not counted, its values are, as
// in the guide's example).
func checkFilterRule(p chime.MembershipPreferences) error {
	const field = "Preferences.PushNotifications.FilterRule"
	if p.PushNotifications == nil || p.PushNotifications.FilterRule == "" {
		return nil
	}
	rule := p.PushNotifications.FilterRule
	if len(rule) > maxFilterRuleBytes {
		return chime.Errorf(chime.KindBadRequest, "1 validation error detected: '%s' must be at most %d bytes.", field, maxFilterRuleBytes)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(rule), &obj); err != nil || obj == nil {
		return chime.Errorf(chime.KindBadRequest, "1 validation error detected: '%s' must be a JSON object.", field)
	}
	complexity := 0
	if why := filterObject(obj, &complexity, true); why != "" {
		return chime.Errorf(chime.KindBadRequest, "1 validation error detected: '%s' %s.", field, why)
	}
	if complexity > maxFilterComplexity {
		return chime.Errorf(chime.KindBadRequest, "1 validation error detected: '%s' has a complexity (keys and values) of %d, over %d.", field, complexity, maxFilterComplexity)
	}
	return nil
}

// The filter rule limits of the developer guide.
const (
	maxFilterComplexity = 20
	maxFilterOr         = 5
)

// filterObject checks one object of a filter rule (the rule, or a "$or"
// branch when top is false), adding its keys and values to complexity; it
// returns what is wrong, "" when nothing is.
func filterObject(obj map[string]any, complexity *int, top bool) string {
	if len(obj) == 0 && !top {
		return `must name at least one message attribute in each "$or" object`
	}
	for key, v := range obj {
		if key == "$or" {
			if !top {
				return `must not nest "$or"`
			}
			branches, ok := v.([]any)
			if !ok || len(branches) == 0 || len(branches) > maxFilterOr {
				return fmt.Sprintf(`"$or" must be a list of 1 to %d objects`, maxFilterOr)
			}
			for _, b := range branches {
				o, ok := b.(map[string]any)
				if !ok {
					return fmt.Sprintf(`"$or" must be a list of 1 to %d objects`, maxFilterOr)
				}
				if why := filterObject(o, complexity, false); why != "" {
					return why
				}
			}
			continue
		}
		*complexity++
		values, ok := v.([]any)
		if !ok || len(values) == 0 {
			return fmt.Sprintf("must give attribute %q a non-empty list of values", key)
		}
		for _, value := range values {
			switch value := value.(type) {
			case string:
				*complexity++
			case map[string]any:
				but, ok := value["anything-but"]
				if !ok || len(value) != 1 {
					return fmt.Sprintf(`must match attribute %q exactly: a string, or {"anything-but": strings} (only exact string matching is supported)`, key)
				}
				switch but := but.(type) {
				case string:
					*complexity++
				case []any:
					// As SNS filter policies: an empty list excludes nothing
					// and is refused ("Empty arrays are not allowed").
					if len(but) == 0 {
						return fmt.Sprintf(`must give "anything-but" of attribute %q a non-empty list of strings`, key)
					}
					for _, b := range but {
						if _, ok := b.(string); !ok {
							return fmt.Sprintf(`must give "anything-but" of attribute %q strings only`, key)
						}
						*complexity++
					}
				default:
					return fmt.Sprintf(`must give "anything-but" of attribute %q a string or strings`, key)
				}
			default:
				return fmt.Sprintf("must match attribute %q with strings (only exact string matching is supported)", key)
			}
		}
	}
	return ""
}
