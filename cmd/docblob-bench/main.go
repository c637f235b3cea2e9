package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docblob/docblob"
)

// sectionNames are the values -only accepts, in the order they run.
var sectionNames = []string{"ops", "requests", "large", "grid", "filegrid", "readgrid", "inline", "cold"}

// defaultSections are the sections a run without -only makes: all but
// filegrid and readgrid, which took the defaults of uploads in place
// (seven minutes more at 1 GiB) and of reads in parts (four), and are run
// on their own (-only filegrid,readgrid) to revisit them.
var defaultSections = slices.DeleteFunc(slices.Clone(sectionNames), func(s string) bool { return s == "filegrid" || s == "readgrid" })

// flags are the command-line settings.
type flags struct {
	quick      bool
	only       map[string]bool
	out        string
	workers    int
	largeMiB   int64
	aa         bool
	explain    bool
	cpuprofile string
	memprofile string

	docblobParams string // URL parameters of docblob's contenders
	largeParams   string // URL parameters of docblob's larger setting in the large section
}

// bench is what every section needs: the servers, the shared SDK
// configuration, the fixture, and docblob's store with its clients.
type bench struct {
	flags
	sv    servers
	cfg   aws.Config
	kids  *launcher // runs the child processes
	fx    fixture
	store *docblob.Store
	s3    *s3.Client
	ddb   *dynamodb.Client

	params      url.Values // -docblob-params
	largeParams url.Values // -large-params, on top of params
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("docblob-bench: ")
	if len(os.Args) == 3 && os.Args[1] == childFlag {
		os.Exit(childMain(os.Args[2]))
	}
	if len(os.Args) == 2 && os.Args[1] == launcherFlag {
		os.Exit(launcherMain())
	}
	var f flags
	only := flag.String("only", strings.Join(defaultSections, ","), "comma-separated sections to run: "+strings.Join(sectionNames, ", "))
	flag.BoolVar(&f.quick, "quick", false, "a short run that CI can afford")
	flag.StringVar(&f.out, "out", "bench/results.md", "file to write the results table to")
	flag.IntVar(&f.workers, "workers", 16, "workers of the concurrent cells")
	flag.Int64Var(&f.largeMiB, "large", 0, "large payload size in MiB (default 1024, 128 with -quick)")
	flag.BoolVar(&f.aa, "aa", true, "run a second baseline in the ops section, as a noise control (A/A)")
	flag.BoolVar(&f.explain, "explain", false, "add diagnostic contenders to the ops section: docblob with a reader that cannot seek, and baselines that each change one thing (see the package documentation)")
	flag.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile to this file; child processes write theirs next to it (cpu.pprof: cpu.large-docblob-0.pprof)")
	flag.StringVar(&f.memprofile, "memprofile", "", "write a heap profile to this file at the end (children likewise)")
	flag.StringVar(&f.docblobParams, "docblob-params", "", "s3dynamo URL query parameters for docblob's contenders, e.g. 'consistent_read=false' (see params.go)")
	flag.StringVar(&f.largeParams, "large-params", defaultLargeParams, "s3dynamo URL query parameters of the larger memory setting docblob is also measured with in the large section")
	flag.Parse()
	f.only = map[string]bool{}
	for s := range strings.SplitSeq(*only, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(sectionNames, s) {
			log.Fatalf("unknown section %q in -only (want some of %s)", s, strings.Join(sectionNames, ", "))
		}
		f.only[s] = true
	}
	if f.only["requests"] {
		f.only["ops"] = true // requests are counted by the ops section
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, f); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, f flags) (err error) {
	started := time.Now()
	// First, while this process is small: see launcherFlag.
	kids, err := startLauncher(ctx)
	if err != nil {
		return err
	}
	defer kids.close()
	load0 := loadAverage()
	code := codeVersion() // now: others may edit the checkout while this runs
	sv, err := serversFromEnv()
	if err != nil {
		return err
	}
	cfg, err := sv.awsConfig(ctx)
	if err != nil {
		return err
	}
	fx, err := provision(ctx, sv, cfg)
	if err != nil {
		return fmt.Errorf("provision table and bucket: %w", err)
	}
	log.Printf("table and bucket %s", fx.table)
	defer func() {
		// Clean up even after Ctrl-C.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if rerr := fx.remove(cctx, sv, cfg); rerr != nil {
			log.Printf("cleaning up %s: %v", fx.table, rerr)
		}
	}()
	b := &bench{flags: f, sv: sv, cfg: cfg, fx: fx, kids: kids}
	if b.params, err = parseParams("docblob-params", f.docblobParams); err != nil {
		return err
	}
	if b.largeParams, err = parseParams("large-params", f.largeParams); err != nil {
		return err
	}
	for _, q := range []url.Values{b.params, mergeParams(b.params, b.largeParams)} {
		if err := sv.checkParams(ctx, fx, q); err != nil {
			return err
		}
	}
	if b.store, err = sv.newStore(fx, sv.driverOptions(fx, &cfg, 0, 0), b.params); err != nil {
		return err
	}
	defer b.store.Close()
	if !b.store.As(&b.s3) || !b.store.As(&b.ddb) {
		return fmt.Errorf("the s3dynamo store does not expose its SDK clients")
	}

	if f.cpuprofile != "" {
		pf, err := os.Create(f.cpuprofile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	sections := []struct {
		name string
		run  func(context.Context) ([]row, error)
	}{
		{"ops", b.runOps},
		{"large", b.runLarge},
		{"grid", b.runGrid},
		{"filegrid", b.runFileGrid},
		{"readgrid", b.runReadGrid},
		{"inline", b.runInline},
		{"cold", b.runCold},
	}
	var rows []row
	for _, s := range sections {
		if !f.only[s.name] {
			continue
		}
		log.Printf("section %s", s.name)
		t0 := time.Now()
		rs, err := s.run(ctx)
		rows = append(rows, rs...)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			log.Printf("section %s failed: %v", s.name, err)
			rows = append(rows, row{section: s.name, name: "FAILED: " + err.Error()})
		}
		log.Printf("section %s took %s", s.name, time.Since(t0).Round(time.Second))
	}

	if f.memprofile != "" {
		if err := writeHeapProfile(f.memprofile); err != nil {
			return err
		}
	}
	mode := "full"
	if f.quick {
		mode = "quick"
	}
	if f.docblobParams != "" {
		mode += ", docblob with URL parameters " + f.docblobParams
	}
	mode += fmt.Sprintf(", load average %s at the start and %s at the end", load0, loadAverage())
	report := renderReport(mode, code, started, time.Since(started), rows)
	fmt.Print(report)
	if err := writeReport(f.out, report); err != nil {
		return err
	}
	log.Printf("wrote %s", f.out)
	return nil
}

// loadAverage returns the 1-minute load average on Linux, "?" elsewhere:
// other work on the machine shows in the results.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// writeHeapProfile writes the heap profile (alloc_space shows every
// allocation since the start), after a collection so that it is current.
func writeHeapProfile(path string) error {
	runtime.GC()
	pf, err := os.Create(path)
	if err != nil {
		return err
	}
	defer pf.Close()
	return pprof.Lookup("heap").WriteTo(pf, 0)
}
