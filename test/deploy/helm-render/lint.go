package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

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

// checkKubeVersion refuses a cluster version outside Chart.yaml's kubeVersion, as helm install and
// helm template do ("chart requires kubeVersion: … which is incompatible with Kubernetes …").
func checkKubeVersion(chart map[string]interface{}, kubeVersion string) error {
	required, _ := chart["kubeVersion"].(string)
	if required == "" {
		return nil
	}
	constraint, err := semver.NewConstraint(required)
	if err != nil {
		return fmt.Errorf("Chart.yaml: kubeVersion %q is not a version range: %v", required, err)
	}
	version, err := semver.NewVersion(kubeVersion)
	if err != nil {
		return fmt.Errorf("--kube-version %q: %v", kubeVersion, err)
	}
	if !constraint.Check(version) {
		return fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes v%s", required, version)
	}
	return nil
}

// kubeVersionInfo is .Capabilities.KubeVersion for a version like 1.30.0.
func kubeVersionInfo(version string) map[string]interface{} {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	for len(parts) < 2 {
		parts = append(parts, "0")
	}
	v := "v" + strings.TrimPrefix(version, "v")
	return map[string]interface{}{"Version": v, "GitVersion": v, "Major": parts[0], "Minor": parts[1]}
}
