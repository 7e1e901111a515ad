// helm-render renders a Helm 3 chart the way `helm template` does, without helm and without a cluster:
// Go's text/template with sprig and helm's own functions (see engine.go). Used by
// test/deploy/helm-chart.test.ts.
//
//	helm-render [--name R] [--namespace NS] [--api-versions G/V]... [-f values.yaml]... [--notes] [--lint] CHART_DIR
//
// Prints the manifests as a YAML stream, each document after a `# Source: <chart>/templates/<file>` line;
// --notes prints the rendered NOTES.txt instead; --lint also applies helm lint's Chart.yaml rules.
// A failing `required` exits 1 with helm's message: `Error: execution error at (file:line:col): message`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// Kubernetes API groups a plain cluster serves (what .Capabilities.APIVersions.Has answers yes to).
var builtinAPIVersions = []string{
	"v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "policy/v1", "rbac.authorization.k8s.io/v1",
	"autoscaling/v2", "apiextensions.k8s.io/v1",
}

type options struct {
	name, namespace string
	kubeVersion     string
	valueFiles      stringList
	apiVersions     stringList
	notes, lint     bool
	chartDir        string
}

func main() {
	var o options
	flag.StringVar(&o.name, "name", "release-name", "release name")
	flag.StringVar(&o.namespace, "namespace", "default", "release namespace")
	flag.StringVar(&o.kubeVersion, "kube-version", "1.30.0", "Kubernetes version for .Capabilities and Chart.yaml's kubeVersion")
	flag.Var(&o.valueFiles, "f", "values file laid over values.yaml (repeatable, later wins)")
	flag.Var(&o.valueFiles, "values", "same as -f")
	flag.Var(&o.apiVersions, "api-versions", "extra API version for .Capabilities (repeatable)")
	flag.BoolVar(&o.notes, "notes", false, "print the rendered NOTES.txt instead of the manifests")
	flag.BoolVar(&o.lint, "lint", false, "apply helm lint's Chart.yaml rules too")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: helm-render [flags] CHART_DIR")
		os.Exit(2)
	}
	o.chartDir = filepath.Clean(flag.Arg(0))
	out, err := run(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %v\n", err)
		os.Exit(1)
	}
	fmt.Print(out)
}

func run(o options) (string, error) {
	chartYAML, err := readYAMLMap(filepath.Join(o.chartDir, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	if o.lint {
		if problems := lintChart(o.chartDir, chartYAML); len(problems) > 0 {
			return "", fmt.Errorf("lint: %s", strings.Join(problems, "; "))
		}
	}
	if err := checkKubeVersion(chartYAML, o.kubeVersion); err != nil {
		return "", err
	}
	values, err := readYAMLMap(filepath.Join(o.chartDir, "values.yaml"))
	if err != nil {
		return "", err
	}
	for _, file := range o.valueFiles {
		override, err := readYAMLMap(file)
		if err != nil {
			return "", err
		}
		mergeValues(values, override)
	}
	meta := chartMetadata(chartYAML)
	chart, _ := meta["Name"].(string)
	sources, files, err := loadChart(o.chartDir, chart)
	if err != nil {
		return "", err
	}
	top := map[string]interface{}{
		"Values": values,
		"Chart":  meta,
		"Files":  files,
		"Release": map[string]interface{}{
			"Name": o.name, "Namespace": o.namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": kubeVersionInfo(o.kubeVersion),
			"APIVersions": apiVersions(append(append([]string{}, builtinAPIVersions...), o.apiVersions...)),
			"HelmVersion": map[string]interface{}{"Version": "v3.22.0"},
		},
	}
	e := &engine{sources: sources}
	rendered, err := e.render(top, chart+"/templates")
	if err != nil {
		return "", err
	}
	notes := chart + "/templates/NOTES.txt"
	if o.notes {
		return rendered[notes], nil
	}
	delete(rendered, notes)
	return manifestStream(rendered), nil
}

// loadChart reads templates/ (by helm's template names) and the other files (for .Files).
func loadChart(dir, chart string) (map[string]string, chartFiles, error) {
	sources := map[string]string{}
	files := chartFiles{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasPrefix(rel, "templates"+string(filepath.Separator)) {
			sources[chart+"/"+filepath.ToSlash(rel)] = string(data)
		} else {
			files[filepath.ToSlash(rel)] = data
		}
		return nil
	})
	if err == nil && len(sources) == 0 {
		err = fmt.Errorf("%s has no templates/", dir)
	}
	return sources, files, err
}

var separator = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

// manifestStream is `helm template`'s output: each non-empty document after its `# Source:` line.
func manifestStream(rendered map[string]string) string {
	names := make([]string, 0, len(rendered))
	for name := range rendered {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		for _, doc := range separator.Split(rendered[name], -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", name, strings.TrimRight(doc, " \n"))
		}
	}
	return b.String()
}
