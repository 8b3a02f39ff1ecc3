// Benchmark runner for wappalyzergo, driven by bench/bench_fingerprints.py.
//
// Usage: wappalyzergo-runner [-fingerprints apps.json] -pages pages.json -repeat N
// pages.json: [{"id": "...", "headers": {"name": ["value"]}, "body": "..."}]
// Prints one JSON object: compile time, peak RSS, and per page the time of each run and the detections.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	wappalyzer "github.com/projectdiscovery/wappalyzergo"
)

type page struct {
	ID      string              `json:"id"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
}

type pageResult struct {
	ID     string    `json:"id"`
	Ms     []float64 `json:"ms"`      // CPU time of this thread
	WallMs []float64 `json:"wall_ms"` // elapsed time
	Techs  []string  `json:"techs"`
}

// threadCPU is this OS thread's CPU time (the goroutine is locked to it), so other load does not count.
func threadCPU() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

type output struct {
	CompileMs float64      `json:"compile_ms"`
	PeakRSSKb int          `json:"peak_rss_kb"`
	Apps      int          `json:"apps"`
	Pages     []pageResult `json:"pages"`
}

func peakRSS() int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb int
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%d", &kb)
			return kb
		}
	}
	return 0
}

func main() {
	fingerprints := flag.String("fingerprints", "", "wappalyzergo-format apps JSON (default: its embedded data)")
	pagesPath := flag.String("pages", "", "pages JSON")
	repeat := flag.Int("repeat", 1, "runs per page")
	flag.Parse()

	runtime.LockOSThread()
	raw, err := os.ReadFile(*pagesPath)
	if err != nil {
		panic(err)
	}
	var pages []page
	if err := json.Unmarshal(raw, &pages); err != nil {
		panic(err)
	}

	start := time.Now()
	var client *wappalyzer.Wappalyze
	if *fingerprints != "" {
		client, err = wappalyzer.NewFromFile(*fingerprints, false, false)
	} else {
		client, err = wappalyzer.New()
	}
	if err != nil {
		panic(err)
	}
	out := output{CompileMs: float64(time.Since(start).Microseconds()) / 1000}
	out.Apps = len(client.GetCompiledFingerprints().Apps)

	for _, p := range pages {
		body := []byte(p.Body)
		result := pageResult{ID: p.ID}
		var found map[string]struct{}
		for i := 0; i < *repeat; i++ {
			t, cpu := time.Now(), threadCPU()
			found = client.Fingerprint(p.Headers, body)
			result.Ms = append(result.Ms, float64((threadCPU()-cpu).Nanoseconds())/1e6)
			result.WallMs = append(result.WallMs, float64(time.Since(t).Nanoseconds())/1e6)
		}
		for name := range found {
			result.Techs = append(result.Techs, name)
		}
		sort.Strings(result.Techs)
		out.Pages = append(out.Pages, result)
	}
	out.PeakRSSKb = peakRSS()
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
