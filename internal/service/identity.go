package service

import (
	"context"
	"errors"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// CreateAppInstanceInput is the input of CreateAppInstance.
type CreateAppInstanceInput struct {
	Name, Metadata, ClientRequestToken string
	Tags                               []chime.Tag
}

// CreateAppInstance creates an app instance in the caller's account and region
// and returns its ARN. Errors: Conflict (token reuse), ResourceLimitExceeded.
func (s *Service) CreateAppInstance(ctx context.Context, p chime.Principal, in CreateAppInstanceInput) (string, error) {
	var arn string
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		if err := tx.LockAccount(owner(p)); err != nil {
			return err
		}
		scope := "CreateAppInstance:" + owner(p)
		params := in
		params.Tags = sortedTags(in.Tags)
		prev, fp, err := s.replay(tx, scope, in.ClientRequestToken, in, params)
		if err != nil || prev != "" {
			arn = prev
			return err
		}
		n, err := tx.CountAppInstances(owner(p))
		if err != nil {
			return err
		}
		if n >= s.quotas.AppInstancesPerAccount {
			return limitExceeded("app instances per account", s.quotas.AppInstancesPerAccount)
		}
		now := s.clock()
		arn = chime.ARN{Partition: "aws", Region: p.Region, Account: p.Account, AppInstanceID: newUUID()}.String()
		if err := tx.InsertAppInstance(owner(p), chime.AppInstance{Arn: arn, Name: in.Name, Metadata: in.Metadata, Created: now, Updated: now}); err != nil {
			return err
		}
		if err := s.putTags(tx, arn, in.Tags); err != nil {
			return err
		}
		return s.remember(tx, scope, in.ClientRequestToken, fp, arn)
	})
	return arn, err
}

// DescribeAppInstance returns an app instance. Errors: NotFound.
func (s *Service) DescribeAppInstance(ctx context.Context, arn string) (chime.AppInstance, error) {
	var a chime.AppInstance
	err := s.store.Read(ctx, func(tx *store.Tx) (err error) {
		a, err = s.appInstance(tx, arn)
		return err
	})
	return a, err
}

// ListAppInstances pages through the caller's app instances. Errors: BadRequest (token).
func (s *Service) ListAppInstances(ctx context.Context, p chime.Principal, pr PageRequest) ([]chime.AppInstance, *string, error) {
	var page store.Page[chime.AppInstance]
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		after, err := s.after("ListAppInstances", owner(p), pr)
		if err != nil {
			return err
		}
		page, err = tx.ListAppInstances(owner(p), after, pr.limit())
		return err
	})
	return page.Items, s.token("ListAppInstances", owner(p), page.Next), err
}

// UpdateAppInstance sets an app instance's name and, when given, its
// metadata. Errors: NotFound.
func (s *Service) UpdateAppInstance(ctx context.Context, arn, name string, metadata *string) error {
	return s.store.Write(ctx, func(tx *store.Tx) error {
		a, err := s.appInstance(tx, arn)
		if err != nil {
			return err
		}
		a.Name, a.Updated = name, s.clock()
		if metadata != nil {
			a.Metadata = *metadata
		}
		return tx.UpdateAppInstance(a)
	})
}

// DeleteAppInstance deletes an app instance with its users, bots, admins,
// channels, memberships, moderators and bans, and closes its users' and
// bots' messaging sessions. No channel event is sent: everyone who could
// receive one is gone too. Errors: NotFound.
func (s *Service) DeleteAppInstance(ctx context.Context, arn string) error {
	var users []string
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		if _, err := s.appInstance(tx, arn); err != nil {
			return err
		}
		var err error
		if users, err = tx.IdentityArns(arn); err != nil {
			return err
		}
		return tx.DeleteAppInstance(arn)
	})
	if err == nil && len(users) > 0 {
		s.publish(ctx, []chime.Event{endSessions("deleted", users...)})
	}
	return err
}

// CreateIdentityInput is the input of CreateAppInstanceUser and CreateAppInstanceBot.
type CreateIdentityInput struct {
	AppInstanceArn     string
	ID                 string // the user id; bots get a UUID
	Name, Metadata     string
	ClientRequestToken string
	Tags               []chime.Tag
	Expiration         *chime.ExpirationSettings
	Configuration      []byte // bots only
}

// CreateAppInstanceUser creates a user and returns its ARN.
// Errors: NotFound (app instance), Conflict (id taken, token reuse), ResourceLimitExceeded.
func (s *Service) CreateAppInstanceUser(ctx context.Context, in CreateIdentityInput) (string, error) {
	return s.createIdentity(ctx, chime.KindUser, in)
}

// CreateAppInstanceBot creates a bot and returns its ARN.
// Errors: NotFound (app instance), Conflict (token reuse), ResourceLimitExceeded.
func (s *Service) CreateAppInstanceBot(ctx context.Context, in CreateIdentityInput) (string, error) {
	in.ID = ""
	return s.createIdentity(ctx, chime.KindBot, in)
}

func (s *Service) createIdentity(ctx context.Context, kind string, in CreateIdentityInput) (string, error) {
	var arn string
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		if _, err := s.appInstance(tx, in.AppInstanceArn); err != nil {
			return err
		}
		scope := in.AppInstanceArn + "/create-" + kind
		params := in
		params.Tags = sortedTags(in.Tags)
		prev, fp, err := s.replay(tx, scope, in.ClientRequestToken, in, params)
		if err != nil || prev != "" {
			arn = prev
			return err
		}
		n, err := tx.CountIdentities(in.AppInstanceArn, kind)
		if err != nil {
			return err
		}
		limit := s.quotas.UsersPerAppInstance
		if kind == chime.KindBot {
			limit = s.quotas.BotsPerAppInstance
		}
		if n >= limit {
			return limitExceeded(kind+"s per app instance", limit)
		}
		id := in.ID
		if kind == chime.KindBot {
			id = newUUID()
		}
		a, _ := chime.ParseARN(in.AppInstanceArn)
		arn = a.Child(kind, id)
		now := s.clock()
		u := chime.AppInstanceUser{Arn: arn, AppInstanceArn: in.AppInstanceArn, Kind: kind, Name: in.Name, Metadata: in.Metadata,
			Configuration: in.Configuration, Expiration: in.Expiration, Created: now, Updated: now}
		if err := tx.InsertIdentity(u); err != nil {
			if chime.KindOf(err) == chime.KindConflict {
				return chime.Errorf(chime.KindConflict, "The app instance user %s already exists.", arn)
			}
			return err
		}
		if err := s.putTags(tx, arn, in.Tags); err != nil {
			return err
		}
		return s.remember(tx, scope, in.ClientRequestToken, fp, arn)
	})
	return arn, err
}

// DescribeAppInstanceUser returns a user. Errors: NotFound.
func (s *Service) DescribeAppInstanceUser(ctx context.Context, arn string) (chime.AppInstanceUser, error) {
	return s.describeIdentity(ctx, chime.KindUser, arn)
}

// DescribeAppInstanceBot returns a bot. Errors: NotFound.
func (s *Service) DescribeAppInstanceBot(ctx context.Context, arn string) (chime.AppInstanceUser, error) {
	return s.describeIdentity(ctx, chime.KindBot, arn)
}

// identity returns the user or bot of this kind. In a write transaction on
// PostgreSQL it locks the row first, so that a read-modify-write of it (an
// update keeping the members it is not given, tags under their quota) cannot
// interleave with another, nor outlive a DeleteIdentity.
func (s *Service) identity(tx *store.Tx, kind, arn string) (chime.AppInstanceUser, error) {
	if err := tx.LockIdentity(arn); err != nil && !errors.Is(err, store.ErrNotFound) {
		return chime.AppInstanceUser{}, err
	}
	u, err := tx.GetIdentity(arn)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Kind != kind) {
		return u, chime.Errorf(chime.KindNotFound, "The app instance %s %s does not exist.", kind, arn)
	}
	return u, err
}

func (s *Service) describeIdentity(ctx context.Context, kind, arn string) (chime.AppInstanceUser, error) {
	var u chime.AppInstanceUser
	err := s.store.Read(ctx, func(tx *store.Tx) (err error) {
		u, err = s.identity(tx, kind, arn)
		return err
	})
	return u, err
}

// ListAppInstanceUsers pages through an app instance's users. Errors: NotFound, BadRequest (token).
func (s *Service) ListAppInstanceUsers(ctx context.Context, appInstance string, pr PageRequest) ([]chime.AppInstanceUser, *string, error) {
	return s.listIdentities(ctx, "ListAppInstanceUsers", chime.KindUser, appInstance, pr)
}

// ListAppInstanceBots pages through an app instance's bots. Errors: NotFound, BadRequest (token).
func (s *Service) ListAppInstanceBots(ctx context.Context, appInstance string, pr PageRequest) ([]chime.AppInstanceUser, *string, error) {
	return s.listIdentities(ctx, "ListAppInstanceBots", chime.KindBot, appInstance, pr)
}

func (s *Service) listIdentities(ctx context.Context, op, kind, appInstance string, pr PageRequest) ([]chime.AppInstanceUser, *string, error) {
	var page store.Page[chime.AppInstanceUser]
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		after, err := s.after(op, appInstance, pr)
		if err != nil {
			return err
		}
		if _, err := s.appInstance(tx, appInstance); err != nil {
			return err
		}
		page, err = tx.ListIdentities(appInstance, kind, after, pr.limit())
		return err
	})
	return page.Items, s.token(op, appInstance, page.Next), err
}

// UpdateAppInstanceUser sets a user's name and, when given, its metadata.
// Errors: NotFound.
func (s *Service) UpdateAppInstanceUser(ctx context.Context, arn, name string, metadata *string) error {
	return s.updateIdentity(ctx, chime.KindUser, arn, name, metadata, nil)
}

// UpdateAppInstanceBot sets a bot's name, metadata and (when given) configuration. Errors: NotFound.
func (s *Service) UpdateAppInstanceBot(ctx context.Context, arn, name, metadata string, configuration []byte) error {
	return s.updateIdentity(ctx, chime.KindBot, arn, name, &metadata, configuration)
}

func (s *Service) updateIdentity(ctx context.Context, kind, arn, name string, metadata *string, configuration []byte) error {
	return s.store.Write(ctx, func(tx *store.Tx) error {
		u, err := s.identity(tx, kind, arn)
		if err != nil {
			return err
		}
		u.Name, u.Updated = name, s.clock()
		if metadata != nil {
			u.Metadata = *metadata
		}
		if configuration != nil {
			u.Configuration = configuration
		}
		return tx.UpdateIdentity(u)
	})
}

// DeleteAppInstanceUser deletes a user with its memberships, moderator
// roles, bans and admin role, tells the other members of its channels
// (DELETE_CHANNEL_MEMBERSHIP) and closes its messaging sessions.
// Errors: NotFound.
func (s *Service) DeleteAppInstanceUser(ctx context.Context, arn string) error {
	return s.deleteIdentity(ctx, chime.KindUser, arn)
}

// DeleteAppInstanceBot deletes a bot like DeleteAppInstanceUser. Errors: NotFound.
func (s *Service) DeleteAppInstanceBot(ctx context.Context, arn string) error {
	return s.deleteIdentity(ctx, chime.KindBot, arn)
}

func (s *Service) deleteIdentity(ctx context.Context, kind, arn string) error {
	var events []chime.Event
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		if err := tx.LockAppInstance(chime.AppInstanceOf(arn)); err != nil {
			return err
		}
		if _, err := s.identity(tx, kind, arn); err != nil {
			return err
		}
		var err error
		events, err = s.removeIdentity(tx, kind, arn)
		return err
	})
	if err == nil {
		s.publish(ctx, events)
	}
	return err
}

// removeIdentity deletes a user or bot (DeleteAppInstanceUser/Bot, the
// reaper) and returns the events that tell of it.
//
// AWS documents only that bans go with the user ("Bans are cleaned up when
// you delete users or channels", CreateChannelBan); what happens to its
// memberships, roles and open sessions is UNKNOWN (SEMANTICS.md is silent).
// Belfry's rule, the one a client expects: the user leaves every channel as
// if removed by DeleteChannelMembership — the members of each channel get
// DELETE_CHANNEL_MEMBERSHIP (HIDDEN: the user alone), and an elastic
// channel's subchannel may merge (SCALE_IN) — its moderator roles, bans and
// admin role go without events (AWS has none for them), and its messaging
// sessions on every node are closed after those events (EventEndSessions,
// close code 4401, as for a connect with an unknown userArn). Channels it
// created and messages it sent stay.
//
// The caller has locked the app instance (store.LockAppInstance): it counts
// one user or bot less, and its row is locked before the channels' and the
// identity's, in the order of those who create.
func (s *Service) removeIdentity(tx *store.Tx, kind, arn string) ([]chime.Event, error) {
	// The user first, then its channels: the order adds take them (lockMembers).
	if err := tx.LockIdentity(arn); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	// In ARN order, so that deletions sharing channels lock them in one order.
	channels, err := tx.ChannelsOfMember(arn)
	if err != nil {
		return nil, err
	}
	var events []chime.Event
	for _, chArn := range channels {
		ch, err := s.channel(tx, chArn)
		if chime.KindOf(err) == chime.KindNotFound {
			continue // a membership without its channel: DeleteIdentity removes it
		}
		if err != nil {
			return nil, err
		}
		removed, err := s.removeMember(tx, ch, arn, "")
		if err != nil {
			return nil, err
		}
		events = append(events, removed...)
	}
	// Also removes any membership added since ChannelsOfMember read them.
	if err := tx.DeleteIdentity(arn); err != nil {
		return nil, err
	}
	return append(events, endSessions(kind+" deleted", arn)), nil
}

// endSessions is the control event that closes the messaging sessions of
// users that no longer exist.
func endSessions(reason string, arns ...string) chime.Event {
	return chime.Event{Type: chime.EventEndSessions, Reason: "app instance " + reason, Recipients: arns}
}

// CreateAppInstanceAdmin makes a user or bot of the app instance its admin;
// making an existing admin again returns it as it stands.
// Errors: NotFound (app instance), Forbidden (not a user of it), ResourceLimitExceeded.
func (s *Service) CreateAppInstanceAdmin(ctx context.Context, appInstance, adminArn string) (chime.Identity, error) {
	var id chime.Identity
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		if _, err := s.appInstance(tx, appInstance); err != nil {
			return err
		}
		u, err := s.memberIdentity(tx, appInstance, adminArn)
		if err != nil {
			return err
		}
		id = identityOf(u)
		if ok, err := tx.IsAdmin(appInstance, adminArn); err != nil || ok {
			return err
		}
		n, err := tx.CountAdmins(appInstance)
		if err != nil {
			return err
		}
		if n >= s.quotas.AdminsPerAppInstance {
			return limitExceeded("admins per app instance", s.quotas.AdminsPerAppInstance)
		}
		// An admin cannot be banned (SEMANTICS.md §5): bans made before the
		// promotion are lifted, or they would lock the admin out.
		if err := tx.DeleteBansOf(adminArn); err != nil {
			return err
		}
		return tx.InsertAdmin(chime.AppInstanceAdmin{AppInstanceArn: appInstance, Admin: id, Created: s.clock()})
	})
	return id, err
}

// DescribeAppInstanceAdmin returns an admin. Errors: NotFound.
func (s *Service) DescribeAppInstanceAdmin(ctx context.Context, appInstance, adminArn string) (chime.AppInstanceAdmin, error) {
	var a chime.AppInstanceAdmin
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		if _, err := s.appInstance(tx, appInstance); err != nil {
			return err
		}
		var err error
		a, err = tx.GetAdmin(appInstance, adminArn)
		return notFoundAs(err, "%s is not an admin of %s.", adminArn, appInstance)
	})
	return a, err
}

// ListAppInstanceAdmins pages through an app instance's admins. Errors: NotFound, BadRequest (token).
func (s *Service) ListAppInstanceAdmins(ctx context.Context, appInstance string, pr PageRequest) ([]chime.AppInstanceAdmin, *string, error) {
	var page store.Page[chime.AppInstanceAdmin]
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		after, err := s.after("ListAppInstanceAdmins", appInstance, pr)
		if err != nil {
			return err
		}
		if _, err := s.appInstance(tx, appInstance); err != nil {
			return err
		}
		page, err = tx.ListAdmins(appInstance, after, pr.limit())
		return err
	})
	return page.Items, s.token("ListAppInstanceAdmins", appInstance, page.Next), err
}

// DeleteAppInstanceAdmin removes an admin (the user stays). Errors: NotFound.
func (s *Service) DeleteAppInstanceAdmin(ctx context.Context, appInstance, adminArn string) error {
	return s.store.Write(ctx, func(tx *store.Tx) error {
		if _, err := s.appInstance(tx, appInstance); err != nil {
			return err
		}
		ok, err := tx.DeleteAdmin(appInstance, adminArn)
		if err == nil && !ok {
			return chime.Errorf(chime.KindNotFound, "%s is not an admin of %s.", adminArn, appInstance)
		}
		return err
	})
}
