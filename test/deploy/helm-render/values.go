package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// readYAMLMap reads a YAML file into the types helm's own loader produces: helm parses values with
// sigs.k8s.io/yaml, which goes through JSON, so numbers are float64 and maps are map[string]interface{}.
// Going through JSON here too keeps template comparisons (`gt .Values.x 1`) failing the way they fail in helm.
func readYAMLMap(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	if _, ok := raw.(map[string]interface{}); !ok {
		return nil, fmt.Errorf("%s: the top level is not a mapping", path)
	}
	encoded, err := json.Marshal(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	out := map[string]interface{}{}
	if err := json.Unmarshal(encoded, &out); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return out, nil
}

// mergeValues lays src over dst the way `helm -f` does: tables merge key by key, anything else replaces,
// and a null deletes the key (helm's way of removing a default).
func mergeValues(dst, src map[string]interface{}) {
	for key, value := range src {
		if value == nil {
			delete(dst, key)
			continue
		}
		srcTable, srcIsTable := value.(map[string]interface{})
		dstTable, dstIsTable := dst[key].(map[string]interface{})
		if srcIsTable && dstIsTable {
			mergeValues(dstTable, srcTable)
			continue
		}
		dst[key] = value
	}
}

// chartMetadata turns Chart.yaml's keys into the field names templates use (.Chart.Name, .Chart.AppVersion),
// as helm's chart.Metadata struct exposes them.
func chartMetadata(chartYAML map[string]interface{}) map[string]interface{} {
	meta := map[string]interface{}{}
	for key, value := range chartYAML {
		if key == "" {
			continue
		}
		field := strings.ToUpper(key[:1]) + key[1:]
		if key == "apiVersion" {
			field = "APIVersion"
		}
		meta[field] = value
	}
	return meta
}

// apiVersions is .Capabilities.APIVersions; Has is the method charts call on it.
type apiVersions []string

func (a apiVersions) Has(version string) bool {
	for _, v := range a {
		if v == version {
			return true
		}
	}
	return false
}

// chartFiles is .Files: the chart's files outside templates/, by path relative to the chart.
type chartFiles map[string][]byte

func (f chartFiles) Get(name string) string { return string(f[name]) }
