package main

import (
	"fmt"
	"path/filepath"
	"regexp"

	"github.com/Masterminds/semver"
)

var chartName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// lintChart applies helm lint's Chart.yaml rules (pkg/lint/rules/chartfile.go) that need no cluster.
func lintChart(dir string, chart map[string]interface{}) []string {
	var problems []string
	str := func(key string) string {
		s, _ := chart[key].(string)
		return s
	}
	if str("apiVersion") != "v2" {
		problems = append(problems, "Chart.yaml: apiVersion must be v2 (a Helm 3 chart)")
	}
	name := str("name")
	switch {
	case name == "":
		problems = append(problems, "Chart.yaml: name is required")
	case name != filepath.Base(dir):
		problems = append(problems, fmt.Sprintf("Chart.yaml: name %q must match the directory name %q", name, filepath.Base(dir)))
	case !chartName.MatchString(name):
		problems = append(problems, fmt.Sprintf("Chart.yaml: name %q is not a valid chart name", name))
	}
	if version, err := semver.NewVersion(str("version")); err != nil {
		problems = append(problems, fmt.Sprintf("Chart.yaml: version %q is not a SemVer 2 version", str("version")))
	} else if c, _ := semver.NewConstraint(">0.0.0-0"); !c.Check(version) {
		problems = append(problems, "Chart.yaml: version must be greater than 0.0.0")
	}
	if t := str("type"); t != "" && t != "application" && t != "library" {
		problems = append(problems, fmt.Sprintf("Chart.yaml: type %q is neither application nor library", t))
	}
	if str("appVersion") == "" {
		problems = append(problems, "Chart.yaml: appVersion is missing")
	}
	if str("description") == "" {
		problems = append(problems, "Chart.yaml: description is missing")
	}
	return problems
}
