package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

// The engine follows helm's pkg/engine (engine.go, funcs.go): sprig's TxtFuncMap without env/expandenv,
// helm's own toYaml/fromYaml/toJson/fromJson/include/tpl/required/lookup, missingkey=zero and
// "<no value>" replaced by "", errors reported as "execution error at (file:line:col): message".

const warnStart, warnEnd = "HELM_ERR_START", "HELM_ERR_END"

var warnPattern = regexp.MustCompile(warnStart + `(.*)` + warnEnd)

type engine struct {
	// templates by name (<chart>/templates/<file>), source text.
	sources map[string]string
}

func (e *engine) names() []string {
	names := make([]string, 0, len(e.sources))
	for name := range e.sources {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func toYAML(v interface{}) string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "" // helm swallows marshal errors inside templates
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

// newSet parses every template into one set whose include/tpl are bound to it; `override` (name → text)
// replaces a template, as helm's tpl does with the calling template's name.
func (e *engine) newSet(override map[string]string) (*template.Template, error) {
	t := template.New("gotpl").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	extra := template.FuncMap{
		"toYaml":   toYAML,
		"fromYaml": fromYAML,
		"toJson":   toJSON,
		"fromJson": fromJSON,
		"lookup": func(string, string, string, string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil // no cluster: helm template's behaviour
		},
		"required": required,
		"include": func(name string, data interface{}) (string, error) {
			var b strings.Builder
			err := t.ExecuteTemplate(&b, name, data)
			return b.String(), err
		},
		"tpl": func(text string, vals map[string]interface{}) (string, error) {
			return e.tpl(text, vals)
		},
	}
	for name, fn := range extra {
		funcs[name] = fn
	}
	t.Funcs(funcs)
	for _, name := range e.names() {
		text := e.sources[name]
		if o, ok := override[name]; ok {
			text = o
		}
		if _, err := t.New(name).Parse(text); err != nil {
			return nil, fmt.Errorf("parse error in (%s): %v", name, err)
		}
	}
	return t, nil
}

func required(message string, value interface{}) (interface{}, error) {
	if s, isString := value.(string); value == nil || (isString && s == "") {
		return value, errors.New(warnStart + message + warnEnd)
	}
	return value, nil
}

func (e *engine) tpl(text string, vals map[string]interface{}) (string, error) {
	tmpl, _ := vals["Template"].(map[string]interface{})
	name, _ := tmpl["Name"].(string)
	if name == "" {
		return "", errors.New("tpl: .Template.Name is missing from the values passed to tpl")
	}
	set, err := e.newSet(map[string]string{name: text})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := set.ExecuteTemplate(&b, name, vals); err != nil {
		return "", fmt.Errorf("error during tpl function execution for %q: %v", text, err)
	}
	return b.String(), nil
}

// render executes every template that is not a partial (_*.tpl) with its own .Template.
func (e *engine) render(top map[string]interface{}, basePath string) (map[string]string, error) {
	set, err := e.newSet(nil)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, name := range e.names() { // sorted: the first failing template is the same on every run
		if strings.HasPrefix(path.Base(name), "_") {
			continue
		}
		vals := map[string]interface{}{}
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = map[string]interface{}{"Name": name, "BasePath": basePath}
		var b strings.Builder
		if err := set.ExecuteTemplate(&b, name, vals); err != nil {
			return nil, cleanExecError(name, err)
		}
		out[name] = strings.ReplaceAll(b.String(), "<no value>", "")
	}
	return out, nil
}

// cleanExecError gives helm's "execution error at (file:line:col): message" for required and fail.
func cleanExecError(name string, err error) error {
	var execErr template.ExecError
	if !errors.As(err, &execErr) {
		return err
	}
	tokens := strings.SplitN(err.Error(), ": ", 3)
	if len(tokens) != 3 {
		return fmt.Errorf("execution error in (%s): %v", name, err)
	}
	if m := warnPattern.FindStringSubmatch(tokens[2]); len(m) >= 2 {
		return fmt.Errorf("execution error at (%s): %s", tokens[1], m[1])
	}
	return err
}
