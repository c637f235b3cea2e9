package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/docblob/docblob"
)

// sweepLine is sweep's JSON result: docblob.SweepResult's counts.
type sweepLine struct {
	Type         string  `json:"type"` // "sweep"
	DryRun       bool    `json:"dry_run"`
	GraceSeconds float64 `json:"grace_seconds"`
	Payloads     int     `json:"payloads"`
	Foreign      int     `json:"foreign"`
	Young        int     `json:"young"`
	Referenced   int     `json:"referenced"`
	Orphans      int     `json:"orphans"`
	Deleted      int     `json:"deleted"`
	Failed       int     `json:"failed"`
	Documents    int     `json:"documents"`
}

// sweepCommand removes orphan payloads.
func (a *app) sweepCommand() *cobra.Command {
	var (
		dryRun bool
		grace  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "sweep [--dry-run] [--grace D]",
		Short: "Delete orphan payloads (that no document references) older than the grace period",
		Long: `sweep deletes the payloads of the store's namespace that no document
references and that were stored more than the grace period ago (default 24h,
at least 1h11m): payloads left by crashes and failed clean-ups. It never
deletes a payload a committed document references, even while writers run.
--dry-run counts them without deleting anything.`,
		Args: cobra.NoArgs,
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			store, _, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			g := grace
			if g == 0 {
				g = 24 * time.Hour
			}
			t := a.startTask("sweep", kindScan, -1)
			res, err := store.Sweep(ctx, &docblob.SweepOptions{GracePeriod: g, DryRun: dryRun})
			t.finish(err)
			if err != nil {
				if docblob.Code(err) == docblob.InvalidArgument && strings.Contains(err.Error(), "grace period") {
					return withHint(err, "give a longer --grace (at least 1h11m with the default commit deadline)")
				}
				return err
			}
			l := sweepLine{Type: "sweep", DryRun: dryRun, GraceSeconds: g.Seconds(), Payloads: res.Payloads, Foreign: res.Foreign,
				Young: res.Young, Referenced: res.Referenced, Orphans: res.Orphans, Deleted: res.Deleted, Failed: res.Failed, Documents: res.Documents}
			if a.json {
				if err := a.emit(l); err != nil {
					return err
				}
			} else {
				verb := "deleted"
				if dryRun {
					verb = "would delete (dry run)"
				}
				a.printf("sweep: %s, %s read\n", plural(int64(res.Payloads), "payload"), plural(int64(res.Documents), "document"))
				a.printf("  referenced  %d\n", res.Referenced)
				a.printf("  young       %d (stored less than %s ago, left alone)\n", res.Young, g)
				a.printf("  foreign     %d (not payload keys, left alone)\n", res.Foreign)
				a.printf("  orphans     %d\n", res.Orphans)
				if dryRun {
					a.printf("  %s %d\n", verb, res.Orphans)
				} else {
					a.printf("  %-11s %d\n", verb, res.Deleted)
				}
				if res.Failed > 0 {
					a.printf("  failed      %d\n", res.Failed)
				}
			}
			if res.Failed > 0 {
				return &cliError{exit: exitFailure, err: fmt.Errorf("%d orphan payloads could not be deleted", res.Failed),
					hint: "the failures are logged above; run sweep again later"}
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "find the orphans without deleting them")
	cmd.Flags().DurationVar(&grace, "grace", 0, "spare payloads stored less than `D` ago (default 24h)")
	return cmd
}

// findingLine is one of check's JSON results.
type findingLine struct {
	Type       string `json:"type"` // "finding"
	Kind       string `json:"kind"` // dangling_reference, size_mismatch, checksum_mismatch, malformed_attachment, orphan_payload, foreign_reference
	Partition  string `json:"partition"`
	Sort       string `json:"sort"`
	Field      string `json:"field"`
	PayloadKey string `json:"payload_key"`
	Stored     string `json:"stored"` // orphans: when the payload was stored, RFC 3339
	Detail     string `json:"detail"`
}

// checkSummaryLine is check's last JSON result.
type checkSummaryLine struct {
	Type           string         `json:"type"` // "check_summary"
	Verified       bool           `json:"verified"`
	Findings       int64          `json:"findings"`
	Kinds          map[string]int `json:"kinds"` // findings by kind
	ElapsedSeconds float64        `json:"elapsed_seconds"`
}

// kindName returns the JSON name of a finding kind: "checksum_mismatch".
func kindName(k docblob.FindingKind) string {
	return strings.ReplaceAll(k.String(), " ", "_")
}

// checkCommand runs docblob's consistency check.
func (a *app) checkCommand() *cobra.Command {
	var verify bool
	cmd := &cobra.Command{
		Use:   "check [--verify]",
		Short: "Check the store: dangling references, size mismatches, orphans (and checksums with --verify)",
		Long: `check reads every document and lists every payload of the store, and reports
each problem on its own line: a document referencing a missing payload or
one of another size, a malformed or foreign attachment, an orphan payload.
--verify also reads every payload and reports those whose SHA-256 no longer
matches. It changes nothing. It exits with code 12 if it found anything.

Orphans younger than the sweep grace period may belong to writes in
progress.`,
		Args: cobra.NoArgs,
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			store, _, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer store.Close()
			start := time.Now()
			kinds := map[string]int{}
			t := a.startTask("check", kindScan, -1)
			for f, err := range store.Check(ctx, &docblob.CheckOptions{VerifyChecksums: verify}) {
				if err != nil {
					t.finish(err)
					return err
				}
				t.findings.Add(1)
				kinds[kindName(f.Kind)]++
				if a.json {
					stored := ""
					if !f.Stored.IsZero() {
						stored = f.Stored.UTC().Format(time.RFC3339Nano)
					}
					if err := a.emit(findingLine{Type: "finding", Kind: kindName(f.Kind), Partition: f.Partition, Sort: f.Sort,
						Field: f.Field, PayloadKey: f.PayloadKey, Stored: stored, Detail: f.Detail}); err != nil {
						t.finish(err)
						return err
					}
				} else {
					t.result(a, f.String()+"\n")
				}
			}
			t.finish(nil)
			n := t.findings.Load()
			if a.json {
				if err := a.emit(checkSummaryLine{Type: "check_summary", Verified: verify, Findings: n, Kinds: kinds,
					ElapsedSeconds: time.Since(start).Seconds()}); err != nil {
					return err
				}
			} else {
				what := "sizes checked"
				if verify {
					what = "checksums verified"
				}
				if n == 0 {
					a.printf("check: no problems found (%s)\n", what)
				} else {
					a.printf("check: %s (%s)\n", plural(n, "problem"), what)
				}
			}
			if n > 0 {
				return errFindings
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&verify, "verify", false, "also read every payload and verify its SHA-256")
	return cmd
}

// result prints a result line on stdout while the task runs: through the
// bar when stdout is the bar's terminal too, so that the bar does not
// overwrite it.
func (t *task) result(a *app, line string) {
	if t.style == progressBar && sameTerminal(a) {
		t.logf("%s", line)
		return
	}
	fmt.Fprint(a.stdout, line)
}
