package api

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeCoverageTable keeps README.md's operation table true: every
// operation of both models is listed under its service, marked built exactly
// when routes.go implements it, and the summary count matches.
func TestReadmeCoverageTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{}
	s.ops, err = loadModels()
	if err != nil {
		t.Fatal(err)
	}
	s.impl = s.routes()
	row := regexp.MustCompile("^\\| (\\w+) \\| `[A-Z]+ [^`]+` \\| (built|not yet[^|]*) \\|$")
	listed := map[string]bool{} // "service/op" -> built
	service := ""
	for _, line := range strings.Split(string(readme), "\n") {
		if name, ok := strings.CutPrefix(line, "### chime-sdk-"); ok {
			service = name
		}
		if m := row.FindStringSubmatch(line); m != nil {
			listed[service+"/"+m[1]] = m[2] == "built"
		}
	}
	total, built := 0, 0
	for _, f := range []string{"identity", "messaging"} {
		m, err := readModel("models/chime-sdk-" + f + ".json")
		if err != nil {
			t.Fatal(err)
		}
		for name := range m.Operations {
			total++
			_, impl := s.impl[name]
			if impl {
				built++
			}
			got, ok := listed[f+"/"+name]
			if !ok {
				t.Errorf("README lists no row for %s/%s", f, name)
			} else if got != impl {
				t.Errorf("README says %s/%s built=%v; routes.go says %v", f, name, got, impl)
			}
		}
	}
	if len(listed) != total {
		t.Errorf("README lists %d operations; the models have %d", len(listed), total)
	}
	if want := fmt.Sprintf("%d of the %d operations are built.", built, total); !strings.Contains(string(readme), want) {
		t.Errorf("README should say %q", want)
	}
}
