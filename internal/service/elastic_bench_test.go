package service

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/belfry/belfry/internal/bus"
	"github.com/belfry/belfry/internal/chime"
	"github.com/belfry/belfry/internal/store"
)

// BenchmarkElasticChannelMillion fills one elastic channel to 1,000,000
// members with BatchCreateChannelMembership, 100 members per call, through
// the service (role checks, assignment, SCALE_OUT rebalancing, the
// per-member CREATE_CHANNEL_MEMBERSHIP events with their recipients, the
// commit), without HTTP (issue 8, "Scale": adding the millionth member costs
// what adding the first did).
//
// The channel has MaximumSubChannels 1,000 and TargetMembershipsPerSubChannel
// 1,000 (AWS's default 1,000 members per subchannel; the subchannel quota is
// raised from 100 to 1,000, keeping their product at AWS's 1,000,000), and
// MinimumMembershipPercentage 40. The million users are inserted straight
// into the store first, 100,000 per transaction, and are not timed. The
// events go to an in-process bus with one subscriber that counts them
// (their delivery to WebSocket sessions is measured by BenchmarkMessageDelivery).
//
// Reported:
//   - members/s: over the whole fill;
//   - first-members/s, last-members/s: over the first and the last 10,000
//     members (the channel holding 0 and 990,000 members);
//   - slowest-batch-ms: the slowest call (a SCALE_OUT moves up to a target's
//     worth of members inside it);
//   - page-us-median, page-us-max: one ListChannelMemberships page
//     (MaxResults 50) per subchannel at the end, all 1,000 subchannels;
//   - peak-RSS-MB: VmHWM of the process, reset after the users are loaded.
//
// It is a benchmark, not a test: it runs only with -bench, once per -count
// (use -benchtime 1x). BELFRY_BENCH_ELASTIC_MEMBERS sets a smaller size (a
// multiple of 10,000; subchannels scale with it) for a quick look.
func BenchmarkElasticChannelMillion(b *testing.B) {
	members := 1_000_000
	if v := os.Getenv("BELFRY_BENCH_ELASTIC_MEMBERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 20_000 || n%10_000 != 0 {
			b.Fatalf("BELFRY_BENCH_ELASTIC_MEMBERS=%q: want a multiple of 10,000, at least 20,000", v)
		}
		members = n
	}
	const target, batch, window = 1_000, 100, 10_000
	subs := members / target
	b.Run(fmt.Sprintf("members=%d/subchannels=%d/target=%d", members, subs, target), func(b *testing.B) {
		for b.Loop() {
			fillElastic(b, members, subs, target, batch, window)
		}
	})
}

func fillElastic(b *testing.B, members, subs, target, batchSize, window int) {
	b.StopTimer()
	ctx := context.Background()
	dir := b.TempDir()
	st, err := store.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	q := DefaultQuotas
	q.SubChannelsPerElasticChannel = subs
	q.MembershipsPerUser = 10
	bs := bus.NewLocal()
	defer bs.Close()
	var events, recipients atomic.Int64
	unsub, err := bs.Subscribe(func(ev chime.Event) {
		events.Add(1)
		recipients.Add(int64(ev.RecipientCount()))
	})
	if err != nil {
		b.Fatal(err)
	}
	defer unsub()
	svc, err := New(ctx, st, Options{Quotas: &q, Bus: bs})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ai := "arn:aws:chime:us-east-1:123456789012:app-instance/elastic-bench"
	mod := ai + "/user/moderator"
	arns := make([]string, members)
	for i := range arns {
		arns[i] = fmt.Sprintf("%s/user/member-%07d", ai, i)
	}
	load := time.Now()
	err = st.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertAppInstance("us-east-1:123456789012", chime.AppInstance{Arn: ai, Name: "bench", Created: t0, Updated: t0}); err != nil {
			return err
		}
		return tx.InsertIdentity(chime.AppInstanceUser{Arn: mod, AppInstanceArn: ai, Kind: chime.KindUser, Name: "moderator", Created: t0, Updated: t0})
	})
	if err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < members; lo += 100_000 {
		err := st.Write(ctx, func(tx *store.Tx) error {
			for _, a := range arns[lo:min(lo+100_000, members)] {
				if err := tx.InsertIdentity(chime.AppInstanceUser{Arn: a, AppInstanceArn: ai, Kind: chime.KindUser, Name: a[len(a)-14:],
					Created: t0, Updated: t0}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	caller := chime.Caller{Bearer: mod}
	ch, err := svc.CreateChannel(ctx, caller, CreateChannelInput{AppInstanceArn: ai, Name: "million", ClientRequestToken: "bench",
		Elastic: &chime.ElasticConfig{MaximumSubChannels: subs, TargetMembershipsPerSubChannel: target, MinimumMembershipPercentage: 40}})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d users loaded in %s", members, time.Since(load).Round(time.Millisecond))
	resetPeakRSS(b)

	var windows []time.Duration // the time of each window of members
	var slowest time.Duration
	b.StartTimer()
	start, wStart := time.Now(), time.Now()
	for lo := 0; lo < members; lo += batchSize {
		c0 := time.Now()
		res, err := svc.BatchCreateChannelMembership(ctx, caller, ch, chime.MembershipDefault, arns[lo:lo+batchSize], "")
		if err != nil {
			b.Fatalf("batch at %d: %v", lo, err)
		}
		if len(res.Errors) != 0 || len(res.Members) != batchSize {
			b.Fatalf("batch at %d: %d members, errors %+v", lo, len(res.Members), res.Errors)
		}
		slowest = max(slowest, time.Since(c0))
		if (lo+batchSize)%window == 0 {
			windows = append(windows, time.Since(wStart))
			wStart = time.Now()
		}
	}
	total := time.Since(start)
	b.StopTimer()

	// One page per subchannel at the end.
	var subIDs []string
	after := ""
	for {
		page, next, err := svc.ListSubChannels(ctx, caller, ch, PageRequest{MaxResults: 50, NextToken: after})
		if err != nil {
			b.Fatal(err)
		}
		for _, sc := range page {
			if sc.MembershipCount != target {
				b.Fatalf("subchannel %s holds %d members, want %d", sc.ID, sc.MembershipCount, target)
			}
			subIDs = append(subIDs, sc.ID)
		}
		if next == nil {
			break
		}
		after = *next
	}
	if len(subIDs) != subs {
		b.Fatalf("%d subchannels, want %d", len(subIDs), subs)
	}
	var pages []time.Duration
	for _, id := range subIDs {
		p0 := time.Now()
		items, next, err := svc.ListChannelMemberships(ctx, caller, ListChannelMembershipsInput{ChannelArn: ch, SubChannelID: id,
			PageRequest: PageRequest{MaxResults: 50}})
		pages = append(pages, time.Since(p0))
		if err != nil || len(items) != 50 || next == nil {
			b.Fatalf("page of %s: %d items, next %v, err %v", id, len(items), next, err)
		}
	}
	slices.Sort(pages)
	rate := func(d time.Duration) float64 { return float64(window) / d.Seconds() }
	b.ReportMetric(float64(members)/total.Seconds(), "members/s")
	b.ReportMetric(rate(windows[0]), "first-members/s")
	b.ReportMetric(rate(windows[len(windows)-1]), "last-members/s")
	b.ReportMetric(float64(slowest.Microseconds())/1000, "slowest-batch-ms")
	b.ReportMetric(float64(pages[len(pages)/2].Microseconds()), "page-us-median")
	b.ReportMetric(float64(pages[len(pages)-1].Microseconds()), "page-us-max")
	b.ReportMetric(float64(peakRSS(b))/1024, "peak-RSS-MB")
	// The rate over each tenth of the fill shows whether a member's cost grows with the channel.
	var tenths []string
	per := max(1, len(windows)/10)
	for i := 0; i < len(windows); i += per {
		var d time.Duration
		for _, w := range windows[i:min(i+per, len(windows))] {
			d += w
		}
		tenths = append(tenths, fmt.Sprintf("%.0f", float64(per*window)/d.Seconds()))
	}
	b.Logf("filled %d members in %s (%d subchannels of %d); members/s by tenth of the fill: %s; %d events to %d recipients",
		members, total.Round(time.Millisecond), len(subIDs), target, strings.Join(tenths, " "), events.Load(), recipients.Load())
	b.StartTimer() // b.Loop wants the timer running
}

// resetPeakRSS resets the process's peak resident set size (VmHWM) to the
// current one (Linux: "5" to /proc/self/clear_refs).
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS: %v", err)
	}
}

// peakRSS returns VmHWM from /proc/self/status, in kB.
func peakRSS(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Logf("no /proc/self/status: %v", err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
