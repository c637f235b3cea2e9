package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	// Every driver is compiled in: the store URL's scheme picks one.
	_ "github.com/docblob/docblob/drivers/filestore"
	_ "github.com/docblob/docblob/drivers/memstore"
	_ "github.com/docblob/docblob/drivers/s3dynamo"
)

// envStore is the environment variable that names the store when --store
// is not given.
const envStore = "DOCBLOB_STORE"

// main runs the command line and exits with its exit code.
func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// app is one run of the command: its streams, environment and global
// flags.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	storeURL         string
	json             bool
	quiet            bool
	noProgress       bool
	progressInterval time.Duration

	// started is set when a command's own code begins to run: an error
	// before that (a bad flag, a wrong number of arguments, an unknown
	// command) is a usage error.
	started bool
	// command is the name of the command that runs, for messages.
	command string
}

// run runs the command line args and returns the process's exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, command: "docblob"}
	root := a.rootCommand()
	root.SetArgs(expandBetween(args))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second interrupt ends the process at once
	}()

	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	if !a.started {
		if cmd != nil {
			a.command = cmd.Name()
		}
		// A bad flag stops the parsing before --json may have been
		// read: the error's format follows the command line still.
		a.json = a.json || wantsJSON(args)
		err = usageErr(err)
	}
	return a.report(err)
}

// rootCommand builds the command tree.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "docblob",
		Short: "Inspect, copy and maintain docblob stores (documents with attached payloads)",
		Long: `docblob works on a docblob store named by a URL: --store URL, or the
DOCBLOB_STORE environment variable. Every driver is compiled in:

  mem://                                         in memory (gone when the command ends)
  file:///var/lib/invoices                       a directory
  s3dynamo://TABLE?bucket=B&region=R             S3 + DynamoDB

A document is named by two arguments, PARTITION SORT, or by PARTITION alone on
a store whose documents have no sort key. Use -- before a key that starts with
a dash.

Exit codes: 0 success, 1 other failure, 2 usage, 3 not found, 4 already exists,
5 precondition failed, 6 invalid argument, 7 permission denied, 8 too large,
9 corrupt, 10 unimplemented, 11 unavailable (retry later), 12 check found
problems, 130 interrupted. See "go doc github.com/docblob/docblob/cmd/docblob".`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Unknown subcommands are usage errors, not a help page.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err) })
	pf := root.PersistentFlags()
	pf.StringVar(&a.storeURL, "store", "", "the store URL (default $"+envStore+")")
	pf.BoolVar(&a.json, "json", false, "print results as JSON, one object per line")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "print no progress and no notices (errors and results still print)")
	pf.BoolVar(&a.noProgress, "no-progress", false, "print no progress")
	pf.DurationVar(&a.progressInterval, "progress-interval", 5*time.Second, "how often progress lines are printed when stderr is not a terminal")

	root.AddCommand(
		a.lsCommand(),
		a.statCommand(),
		a.catCommand(),
		a.getCommand(),
		a.putCommand(),
		a.rmCommand(),
		a.urlCommand(),
		a.sweepCommand(),
		a.checkCommand(),
		a.cpCommand(),
		a.serveCommand(),
	)
	return root
}

// runE adapts a command's body to cobra: it marks the start of the
// command's own code (errors before it are usage errors) and records the
// command's name for messages.
func (a *app) runE(body func(ctx context.Context, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.started = true
		a.command = cmd.Name()
		return body(cmd.Context(), cmd, args)
	}
}

// notice prints an informational line on stderr, unless --quiet.
func (a *app) notice(format string, args ...any) {
	if a.quiet {
		return
	}
	fmt.Fprintf(a.stderr, format+"\n", args...)
}

// expandBetween rewrites "--between A B" into "--between=A --between=B",
// so that the flag can take its two values as the command line reads
// (pflag flags take one value each). Arguments after "--" are left alone.
func expandBetween(args []string) []string {
	out := make([]string, 0, len(args)+1)
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return append(out, args[i:]...)
		case arg == "--between" && i+2 < len(args):
			out = append(out, "--between="+args[i+1], "--between="+args[i+2])
			i += 2
		case strings.HasPrefix(arg, "--between=") && i+1 < len(args) && args[i+1] != "--":
			out = append(out, arg, "--between="+args[i+1])
			i++
		default:
			out = append(out, arg)
		}
	}
	return out
}

// wantsJSON reports whether args ask for --json (before any "--").
func wantsJSON(args []string) bool {
	for _, arg := range args {
		switch arg {
		case "--":
			return false
		case "--json", "--json=true":
			return true
		}
	}
	return false
}
