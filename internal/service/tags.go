package service

import (
	"context"
	"errors"
	"strings"

	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// taggable checks that arn names an existing app instance, user, bot or
// channel; in a write on PostgreSQL it holds the resource's row locked, so
// that the tag quota holds and no tag outlives a concurrent delete.
func (s *Service) taggable(tx *store.Tx, arn string) error {
	a, ok := chime.ParseARN(arn)
	var err error
	switch {
	case !ok && strings.HasPrefix(arn, "arn:") && strings.Contains(arn, ":meeting/"):
		// The legacy chime TagResource, on this same path, tags meetings.
		return chime.Errorf(chime.KindNotImplemented, "Belfry does not implement Chime SDK meetings: ResourceARN %s cannot be tagged here.", arn)
	case !ok:
		return chime.Errorf(chime.KindBadRequest, "ResourceARN %s is not a taggable Chime SDK resource.", arn)
	case a.Kind == "":
		_, err = tx.GetAppInstance(arn)
	case a.Kind == chime.ArnUser || a.Kind == chime.ArnBot:
		if err = tx.LockIdentity(arn); err == nil { // as GetChannel and GetAppInstance lock theirs
			_, err = tx.GetIdentity(arn)
		}
	case a.Kind == chime.ArnChannel:
		_, err = tx.GetChannel(arn)
	default:
		return chime.Errorf(chime.KindBadRequest, "ResourceARN %s is not a taggable resource on this server.", arn)
	}
	if errors.Is(err, store.ErrNotFound) {
		return chime.Errorf(chime.KindNotFound, "The resource %s does not exist.", arn)
	}
	return err
}

// TagResource adds or replaces tags. Errors: NotFound, BadRequest, ResourceLimitExceeded.
func (s *Service) TagResource(ctx context.Context, arn string, tags []chime.Tag) error {
	return s.store.Write(ctx, func(tx *store.Tx) error {
		if err := s.taggable(tx, arn); err != nil {
			return err
		}
		return s.putTags(tx, arn, tags)
	})
}

// putTags adds or replaces tags of arn within the quota of tags per
// resource: TagResource and every create that takes Tags.
// Errors: ResourceLimitExceeded.
func (s *Service) putTags(tx *store.Tx, arn string, tags []chime.Tag) error {
	if len(tags) == 0 {
		return nil
	}
	// As AWS's tagging refuses them: a key twice in one request (which value
	// would win?), and a key in the aws: namespace, which is AWS's own.
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if seen[t.Key] {
			return chime.Errorf(chime.KindBadRequest, "1 validation error detected: 'Tags' has the key %q more than once.", t.Key)
		}
		seen[t.Key] = true
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return chime.Errorf(chime.KindBadRequest, "1 validation error detected: 'Tags' key %q: the aws: prefix is reserved for AWS.", t.Key)
		}
	}
	if err := tx.PutTags(arn, tags); err != nil {
		return err
	}
	all, err := tx.ListTags(arn)
	if err == nil && len(all) > s.quotas.TagsPerResource {
		return limitExceeded("tags per resource", s.quotas.TagsPerResource)
	}
	return err
}

// UntagResource removes tags by key. Errors: NotFound, BadRequest.
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	return s.store.Write(ctx, func(tx *store.Tx) error {
		if err := s.taggable(tx, arn); err != nil {
			return err
		}
		return tx.RemoveTags(arn, keys)
	})
}

// ListTagsForResource returns a resource's tags. Errors: NotFound, BadRequest.
func (s *Service) ListTagsForResource(ctx context.Context, arn string) ([]chime.Tag, error) {
	var tags []chime.Tag
	err := s.store.Read(ctx, func(tx *store.Tx) error {
		if err := s.taggable(tx, arn); err != nil {
			return err
		}
		var err error
		tags, err = tx.ListTags(arn)
		return err
	})
	return tags, err
}
