package api

import (
	"context"
	"encoding/json"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/service"
)

type createAppInstanceIn struct {
	Name, Metadata, ClientRequestToken string
	Tags                               []tag
}

func (s *Server) createAppInstance(ctx context.Context, c chime.Caller, in *createAppInstanceIn) (any, error) {
	arn, err := s.svc.CreateAppInstance(ctx, c.Principal, service.CreateAppInstanceInput{
		Name: in.Name, Metadata: in.Metadata, ClientRequestToken: in.ClientRequestToken, Tags: tagsIn(in.Tags)})
	if err != nil {
		return nil, err
	}
	return map[string]string{"AppInstanceArn": arn}, nil
}

type appInstanceArnIn struct {
	AppInstanceArn string
}

type appInstanceOut struct {
	AppInstanceArn       string  `json:"AppInstanceArn"`
	Name                 string  `json:"Name"`
	Metadata             *string `json:"Metadata,omitempty"`
	CreatedTimestamp     *epoch  `json:"CreatedTimestamp,omitempty"`
	LastUpdatedTimestamp *epoch  `json:"LastUpdatedTimestamp,omitempty"`
}

func (s *Server) describeAppInstance(ctx context.Context, c chime.Caller, in *appInstanceArnIn) (any, error) {
	a, err := s.svc.DescribeAppInstance(ctx, in.AppInstanceArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"AppInstance": appInstanceOut{AppInstanceArn: a.Arn, Name: a.Name, Metadata: str(a.Metadata),
		CreatedTimestamp: ts(a.Created), LastUpdatedTimestamp: ts(a.Updated)}}, nil
}

func (s *Server) listAppInstances(ctx context.Context, c chime.Caller, in *page) (any, error) {
	items, next, err := s.svc.ListAppInstances(ctx, c.Principal, in.req())
	if err != nil {
		return nil, err
	}
	return paged(map[string]any{"AppInstances": mapList(items, func(a chime.AppInstance) appInstanceOut {
		return appInstanceOut{AppInstanceArn: a.Arn, Name: a.Name, Metadata: str(a.Metadata)}
	})}, next), nil
}

type updateAppInstanceIn struct {
	AppInstanceArn, Name string
	Metadata             *string // nil: unchanged (notRequired)
}

func (s *Server) updateAppInstance(ctx context.Context, c chime.Caller, in *updateAppInstanceIn) (any, error) {
	if err := s.svc.UpdateAppInstance(ctx, in.AppInstanceArn, in.Name, in.Metadata); err != nil {
		return nil, err
	}
	return map[string]string{"AppInstanceArn": in.AppInstanceArn}, nil
}

func (s *Server) deleteAppInstance(ctx context.Context, c chime.Caller, in *appInstanceArnIn) (any, error) {
	return nil, s.svc.DeleteAppInstance(ctx, in.AppInstanceArn)
}

type createAppInstanceUserIn struct {
	AppInstanceArn, AppInstanceUserId, Name, Metadata, ClientRequestToken string
	Tags                                                                  []tag
	ExpirationSettings                                                    *expirationSettings
}

func (s *Server) createAppInstanceUser(ctx context.Context, c chime.Caller, in *createAppInstanceUserIn) (any, error) {
	arn, err := s.svc.CreateAppInstanceUser(ctx, service.CreateIdentityInput{AppInstanceArn: in.AppInstanceArn, ID: in.AppInstanceUserId,
		Name: in.Name, Metadata: in.Metadata, ClientRequestToken: in.ClientRequestToken, Tags: tagsIn(in.Tags), Expiration: expirationIn(in.ExpirationSettings)})
	if err != nil {
		return nil, err
	}
	return map[string]string{"AppInstanceUserArn": arn}, nil
}

type appInstanceUserArnIn struct {
	AppInstanceUserArn string
}

type appInstanceUserOut struct {
	AppInstanceUserArn   string              `json:"AppInstanceUserArn"`
	Name                 string              `json:"Name"`
	Metadata             *string             `json:"Metadata,omitempty"`
	CreatedTimestamp     *epoch              `json:"CreatedTimestamp,omitempty"`
	LastUpdatedTimestamp *epoch              `json:"LastUpdatedTimestamp,omitempty"`
	ExpirationSettings   *expirationSettings `json:"ExpirationSettings,omitempty"`
}

func (s *Server) describeAppInstanceUser(ctx context.Context, c chime.Caller, in *appInstanceUserArnIn) (any, error) {
	u, err := s.svc.DescribeAppInstanceUser(ctx, in.AppInstanceUserArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"AppInstanceUser": appInstanceUserOut{AppInstanceUserArn: u.Arn, Name: u.Name, Metadata: str(u.Metadata),
		CreatedTimestamp: ts(u.Created), LastUpdatedTimestamp: ts(u.Updated), ExpirationSettings: expirationOut(u.Expiration)}}, nil
}

type listByAppInstanceIn struct {
	AppInstanceArn string
	page
}

func (s *Server) listAppInstanceUsers(ctx context.Context, c chime.Caller, in *listByAppInstanceIn) (any, error) {
	items, next, err := s.svc.ListAppInstanceUsers(ctx, in.AppInstanceArn, in.req())
	if err != nil {
		return nil, err
	}
	return paged(map[string]any{"AppInstanceArn": in.AppInstanceArn, "AppInstanceUsers": mapList(items, func(u chime.AppInstanceUser) appInstanceUserOut {
		return appInstanceUserOut{AppInstanceUserArn: u.Arn, Name: u.Name, Metadata: str(u.Metadata)}
	})}, next), nil
}

type updateAppInstanceUserIn struct {
	AppInstanceUserArn, Name string
	Metadata                 *string // nil: unchanged (notRequired)
}

func (s *Server) updateAppInstanceUser(ctx context.Context, c chime.Caller, in *updateAppInstanceUserIn) (any, error) {
	if err := s.svc.UpdateAppInstanceUser(ctx, in.AppInstanceUserArn, in.Name, in.Metadata); err != nil {
		return nil, err
	}
	return map[string]string{"AppInstanceUserArn": in.AppInstanceUserArn}, nil
}

func (s *Server) deleteAppInstanceUser(ctx context.Context, c chime.Caller, in *appInstanceUserArnIn) (any, error) {
	return nil, s.svc.DeleteAppInstanceUser(ctx, in.AppInstanceUserArn)
}

type createAppInstanceBotIn struct {
	AppInstanceArn, Name, Metadata, ClientRequestToken string
	Tags                                               []tag
	Configuration                                      json.RawMessage
}

func (s *Server) createAppInstanceBot(ctx context.Context, c chime.Caller, in *createAppInstanceBotIn) (any, error) {
	arn, err := s.svc.CreateAppInstanceBot(ctx, service.CreateIdentityInput{AppInstanceArn: in.AppInstanceArn, Name: in.Name,
		Metadata: in.Metadata, ClientRequestToken: in.ClientRequestToken, Tags: tagsIn(in.Tags), Configuration: in.Configuration})
	if err != nil {
		return nil, err
	}
	return map[string]string{"AppInstanceBotArn": arn}, nil
}

type appInstanceBotArnIn struct {
	AppInstanceBotArn string
}

type appInstanceBotOut struct {
	AppInstanceBotArn    string          `json:"AppInstanceBotArn"`
	Name                 *string         `json:"Name,omitempty"`
	Metadata             *string         `json:"Metadata,omitempty"`
	Configuration        json.RawMessage `json:"Configuration,omitempty"`
	CreatedTimestamp     *epoch          `json:"CreatedTimestamp,omitempty"`
	LastUpdatedTimestamp *epoch          `json:"LastUpdatedTimestamp,omitempty"`
}

func (s *Server) describeAppInstanceBot(ctx context.Context, c chime.Caller, in *appInstanceBotArnIn) (any, error) {
	u, err := s.svc.DescribeAppInstanceBot(ctx, in.AppInstanceBotArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"AppInstanceBot": appInstanceBotOut{AppInstanceBotArn: u.Arn, Name: str(u.Name), Metadata: str(u.Metadata),
		Configuration: rawJSON(u.Configuration), CreatedTimestamp: ts(u.Created), LastUpdatedTimestamp: ts(u.Updated)}}, nil
}

func (s *Server) listAppInstanceBots(ctx context.Context, c chime.Caller, in *listByAppInstanceIn) (any, error) {
	items, next, err := s.svc.ListAppInstanceBots(ctx, in.AppInstanceArn, in.req())
	if err != nil {
		return nil, err
	}
	return paged(map[string]any{"AppInstanceArn": in.AppInstanceArn, "AppInstanceBots": mapList(items, func(u chime.AppInstanceUser) appInstanceBotOut {
		return appInstanceBotOut{AppInstanceBotArn: u.Arn, Name: str(u.Name), Metadata: str(u.Metadata)}
	})}, next), nil
}

type updateAppInstanceBotIn struct {
	AppInstanceBotArn, Name, Metadata string
	Configuration                     json.RawMessage
}

func (s *Server) updateAppInstanceBot(ctx context.Context, c chime.Caller, in *updateAppInstanceBotIn) (any, error) {
	if err := s.svc.UpdateAppInstanceBot(ctx, in.AppInstanceBotArn, in.Name, in.Metadata, in.Configuration); err != nil {
		return nil, err
	}
	return map[string]string{"AppInstanceBotArn": in.AppInstanceBotArn}, nil
}

func (s *Server) deleteAppInstanceBot(ctx context.Context, c chime.Caller, in *appInstanceBotArnIn) (any, error) {
	return nil, s.svc.DeleteAppInstanceBot(ctx, in.AppInstanceBotArn)
}

type appInstanceAdminIn struct {
	AppInstanceArn, AppInstanceAdminArn string
}

func (s *Server) createAppInstanceAdmin(ctx context.Context, c chime.Caller, in *appInstanceAdminIn) (any, error) {
	id, err := s.svc.CreateAppInstanceAdmin(ctx, in.AppInstanceArn, in.AppInstanceAdminArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"AppInstanceAdmin": identityOut(id), "AppInstanceArn": in.AppInstanceArn}, nil
}

func (s *Server) describeAppInstanceAdmin(ctx context.Context, c chime.Caller, in *appInstanceAdminIn) (any, error) {
	a, err := s.svc.DescribeAppInstanceAdmin(ctx, in.AppInstanceArn, in.AppInstanceAdminArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"AppInstanceAdmin": map[string]any{"Admin": identityOut(a.Admin), "AppInstanceArn": a.AppInstanceArn,
		"CreatedTimestamp": ts(a.Created)}}, nil
}

type listAppInstanceAdminsIn struct {
	AppInstanceArn string
	page
}

func (s *Server) listAppInstanceAdmins(ctx context.Context, c chime.Caller, in *listAppInstanceAdminsIn) (any, error) {
	items, next, err := s.svc.ListAppInstanceAdmins(ctx, in.AppInstanceArn, in.req())
	if err != nil {
		return nil, err
	}
	return paged(map[string]any{"AppInstanceArn": in.AppInstanceArn, "AppInstanceAdmins": mapList(items, func(a chime.AppInstanceAdmin) map[string]any {
		return map[string]any{"Admin": identityOut(a.Admin)}
	})}, next), nil
}

func (s *Server) deleteAppInstanceAdmin(ctx context.Context, c chime.Caller, in *appInstanceAdminIn) (any, error) {
	return nil, s.svc.DeleteAppInstanceAdmin(ctx, in.AppInstanceArn, in.AppInstanceAdminArn)
}

type tagResourceIn struct {
	ResourceARN string
	Tags        []tag
	TagKeys     []string
}

func (s *Server) tagResource(ctx context.Context, c chime.Caller, in *tagResourceIn) (any, error) {
	return nil, s.svc.TagResource(ctx, in.ResourceARN, tagsIn(in.Tags))
}

func (s *Server) untagResource(ctx context.Context, c chime.Caller, in *tagResourceIn) (any, error) {
	return nil, s.svc.UntagResource(ctx, in.ResourceARN, in.TagKeys)
}

func (s *Server) listTagsForResource(ctx context.Context, c chime.Caller, in *tagResourceIn) (any, error) {
	tags, err := s.svc.ListTagsForResource(ctx, in.ResourceARN)
	if err != nil {
		return nil, err
	}
	out := mapList(tags, func(t chime.Tag) tag { return tag{Key: t.Key, Value: t.Value} })
	if len(out) == 0 {
		return map[string]any{}, nil // the model's TagList has min 1: no tags is no list
	}
	return map[string]any{"Tags": out}, nil
}
