package api

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/belfry/belfry/internal/chime"
)

// RateLimits applies AWS's default request rates (SEMANTICS.md §9, rule D17):
// a request over any of the rates that apply to it is answered 429
// ThrottledClientException. Each rate is a token bucket holding one second
// of requests, per resource (account, app instance, channel, user or
// bearer); a request takes a token from every bucket that applies, or from
// none. Buckets that have refilled are forgotten, so memory follows the
// request rate, not the number of resources ever named.
type RateLimits struct {
	now func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	rate   float64
	last   time.Time
}

// NewAWSRateLimits returns AWS's default rates; now is the clock (time.Now when nil).
func NewAWSRateLimits(now func() time.Time) *RateLimits {
	if now == nil {
		now = time.Now
	}
	return &RateLimits{now: now, buckets: map[string]*bucket{}}
}

// Buckets returns how many buckets are held (for tests and the load test).
func (l *RateLimits) Buckets() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// limit is one rate that applies to a request: key names the bucket.
type limit struct {
	key  string
	rate float64
	what string // for the error message
}

// dims name the resource a rate is counted per.
type dims struct {
	account, appInstance, channel, user, bearer string
	elastic                                     bool   // the channel is elastic
	sub                                         string // its subchannel the request acts in, when known
}

// ChannelScope is what the rates of one channel need to know that the
// request does not say: whether the channel is elastic and, when wantSub
// and the bearer is in exactly one of its subchannels, which. A store read,
// made only with rate limits on and for an operation whose rates differ in
// an elastic channel; wantSub only where they are counted per subchannel.
type ChannelScope func(ctx context.Context, channelArn, bearer string, wantSub bool) (elastic bool, sub string)

// rule is a rate of one or more operations, counted per one dimension.
type rule struct {
	group  string
	us, eu float64 // us-east-1 (and every other region), eu-central-1
	per    string  // "account", "app instance", "channel", "user", "bearer"

	elasticUS float64 // us-east-1's rate for an elastic channel, when it differs
	perSub    bool    // an elastic channel's subchannels are counted apart
}

// awsRules are the per-operation rates of SEMANTICS.md §9; operations that
// share a group share the bucket.
var awsRules = func() map[string][]rule {
	r := map[string][]rule{}
	add := func(ru rule, ops ...string) {
		for _, op := range ops {
			g := ru
			if g.group == "" {
				g.group = op
			}
			r[op] = append(r[op], g)
		}
	}
	add(rule{us: 5, eu: 5, per: "account"}, "CreateAppInstance", "UpdateAppInstance", "DeleteAppInstance")
	add(rule{us: 10, eu: 10, per: "app instance"}, "CreateAppInstanceUser", "UpdateAppInstanceUser", "DeleteAppInstanceUser")
	add(rule{us: 20, eu: 20, per: "app instance"}, "DescribeAppInstance")
	add(rule{us: 20, eu: 20, per: "user"}, "DescribeAppInstanceUser")
	add(rule{us: 10, eu: 10, per: "account"}, "ListAppInstances")
	add(rule{us: 10, eu: 10, per: "app instance"}, "ListAppInstanceUsers")
	add(rule{us: 15, eu: 15, per: "app instance"}, "CreateChannel", "UpdateChannel", "DeleteChannel")
	add(rule{us: 10, eu: 10, per: "app instance"}, "ListChannels")
	add(rule{us: 20, eu: 20, per: "channel"}, "DescribeChannel")
	add(rule{us: 15, eu: 10, per: "channel", elasticUS: 30}, "CreateChannelMembership", "DeleteChannelMembership", "CreateChannelBan",
		"DeleteChannelBan", "CreateChannelModerator", "DeleteChannelModerator")
	add(rule{us: 15, eu: 15, per: "channel"}, "ListChannelMemberships", "ListChannelBans", "ListChannelModerators")
	add(rule{us: 30, eu: 10, per: "channel", perSub: true}, "SendChannelMessage", "UpdateChannelMessage", "RedactChannelMessage", "DeleteChannelMessage")
	add(rule{us: 30, eu: 30, per: "channel", perSub: true}, "ListChannelMessages", "GetChannelMessage")
	add(rule{group: "ListChannelsForAppInstanceUser", us: 15, eu: 15, per: "user"},
		"ListChannelMembershipsForAppInstanceUser", "ListChannelsModeratedByAppInstanceUser")
	add(rule{us: 1, eu: 1, per: "channel"}, "BatchCreateChannelMembership") // batch APIs: 1 per resource
	add(rule{us: 15, eu: 15, per: "channel"}, "ListSubChannels")
	return r
}()

// Account-wide and per-bearer rates of whole services.
var (
	identityRule = rule{group: "Chime SDK Identity", us: 50, eu: 50, per: "account"}
	bearerRule   = rule{group: "Chime SDK Messaging", us: 10, eu: 5, per: "bearer"}
	connectRule  = rule{group: "Connect", us: 1, eu: 1, per: "user"}
)

// limitsFor returns the rates that apply to one request with input in (as
// decodeInput returns it); scope, when not nil, tells an elastic channel.
func limitsFor(ctx context.Context, p chime.Principal, spec *opSpec, in map[string]any, scope ChannelScope) []limit {
	arns, bearer := inputARNs(spec, in)
	d := dims{account: p.Account, bearer: bearer}
	for _, a := range arns {
		if d.appInstance == "" {
			d.appInstance = chime.AppInstanceOf(a)
		}
	}
	d.channel, _ = in["ChannelArn"].(string)
	d.sub, _ = in["SubChannelId"].(string)
	if aware, perSub := elasticAware(awsRules[spec.name]); scope != nil && d.channel != "" && aware {
		var mine string
		if d.elastic, mine = scope(ctx, d.channel, bearer, perSub && d.sub == ""); d.sub == "" {
			d.sub = mine
		}
	}
	d.user, _ = in["AppInstanceUserArn"].(string)
	if d.user == "" {
		d.user = bearer
	}
	rules := awsRules[spec.name]
	if spec.service == messagingService && bearer != "" {
		rules = append(rules, bearerRule)
	}
	if spec.service != messagingService {
		rules = append(rules, identityRule)
	}
	var out []limit
	for _, ru := range rules {
		if l, ok := ru.limit(p.Region, d); ok {
			out = append(out, l)
		}
	}
	return out
}

func (ru rule) limit(region string, d dims) (limit, bool) {
	var id string
	switch ru.per {
	case "account":
		id = d.account
	case "app instance":
		id = d.appInstance
	case "channel":
		id = d.channel
		if ru.perSub && d.elastic && d.sub != "" {
			id += "\x00" + d.sub
		}
	case "user":
		id = d.user
	case "bearer":
		id = d.bearer
	}
	if id == "" {
		return limit{}, false
	}
	rate := ru.us
	if d.elastic && ru.per == "channel" && ru.elasticUS > 0 {
		rate = ru.elasticUS
	}
	if region == "eu-central-1" {
		rate = ru.eu
	}
	return limit{key: ru.group + "\x00" + region + "\x00" + id, rate: rate,
		what: fmt.Sprintf("%s allows %g requests per second per %s", ru.group, rate, ru.per)}, true
}

// elasticAware reports whether any of rules counts an elastic channel
// otherwise than a plain one (only then is the channel looked up), and
// whether any counts its subchannels apart (only then is the bearer's
// subchannel looked up).
func elasticAware(rules []rule) (aware, perSub bool) {
	for _, ru := range rules {
		aware = aware || ru.elasticUS > 0 || ru.perSub
		perSub = perSub || ru.perSub
	}
	return aware, perSub
}

// check takes a token from every bucket of ls, or from none.
// Errors: Throttled.
func (l *RateLimits) check(ls []limit) error {
	if len(ls) == 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= time.Second {
		l.sweep(now)
	}
	bs := make([]*bucket, len(ls))
	for i, lim := range ls {
		b := l.buckets[lim.key]
		if b == nil {
			b = &bucket{tokens: burst(lim.rate), rate: lim.rate, last: now}
			l.buckets[lim.key] = b
		}
		b.refill(now)
		bs[i] = b
	}
	for i, b := range bs {
		if b.tokens < 1 {
			return chime.Errorf(chime.KindThrottled, "Rate exceeded: %s.", ls[i].what)
		}
	}
	for _, b := range bs {
		b.tokens--
	}
	return nil
}

func burst(rate float64) float64 { return max(rate, 1) }

func (b *bucket) refill(now time.Time) {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(burst(b.rate), b.tokens+dt*b.rate)
		b.last = now
	}
}

// sweep forgets the buckets that are full again: they are no different
// from a new one.
func (l *RateLimits) sweep(now time.Time) {
	for k, b := range l.buckets {
		b.refill(now)
		if b.tokens >= burst(b.rate) {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}

// AllowConnect applies the rate of messaging-session connections, 1 per
// second per AppInstanceUser, not adjustable at AWS (SEMANTICS.md §9).
func (l *RateLimits) AllowConnect(region, userArn string) bool {
	lim, ok := connectRule.limit(region, dims{user: userArn})
	return !ok || l.check([]limit{lim}) == nil
}

// WithRateLimits makes the server answer requests over l's rates with 429
// ThrottledClientException. Without it no rate is applied (the default).
func WithRateLimits(l *RateLimits) Option {
	return func(s *Server) { s.limits = l }
}
