package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// UnknownKeys checks the keys of the YAML in n against the yaml tags of v (a
// pointer to, or value of, the struct n decodes into) and returns one error
// per key v has no field for, with its line and full key (prefix.key[i].key).
//
// yaml.v3's Decoder.KnownFields does the same check but cannot be applied to
// a yaml.Node decoded later (Node.Decode has no strict mode), and names the Go
// type instead of the key: this works for both. A field of type yaml.Node is
// left to whoever decodes it.
func UnknownKeys(n *yaml.Node, v any, prefix string) error {
	var errs []error
	walkKeys(n, reflect.TypeOf(v), prefix, &errs)
	return errors.Join(errs...)
}

var (
	nodeType        = reflect.TypeOf(yaml.Node{})
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

func walkKeys(n *yaml.Node, t reflect.Type, path string, errs *[]error) {
	if n == nil || t == nil {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			walkKeys(c, t, path, errs)
		}
		return
	case yaml.AliasNode:
		walkKeys(n.Alias, t, path, errs)
		return
	}
	if t == nodeType || reflect.PointerTo(t).Implements(unmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields := map[string]reflect.Type{}
		structFields(t, fields)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.Tag == "!!merge" {
				walkKeys(val, t, path, errs)
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				ft, ok = fields[anyKey]
			}
			if !ok {
				*errs = append(*errs, fmt.Errorf("line %d: unknown key %s", k.Line, join(path, k.Value)))
				continue
			}
			walkKeys(val, ft, join(path, k.Value), errs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			walkKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), errs)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			walkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	}
}

// structFields maps the YAML keys of struct t to their types the way yaml.v3
// names them: the tag's name, else the lower-cased field name; ",inline"
// structs add their keys.
func structFields(t reflect.Type, out map[string]reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Struct:
				structFields(ft, out)
			case reflect.Map:
				out[anyKey] = ft.Elem()
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
}

// anyKey stands for the keys an inline map takes.
const anyKey = "\x00inline map"

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
