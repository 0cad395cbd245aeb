package docs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v4"
)

// yamlToJSON converts one YAML document to compact JSON, keeping the order
// of mapping keys. The usual route through map[string]any would sort them,
// and the order matters here: the docs page lists operations, parameters
// and properties in document order.
//
// Only what JSON can express is accepted: string keys, and scalars that are
// strings, numbers, booleans or null. Aliases are expanded. Timestamps stay
// strings, as in YAML 1.2 (and in the JavaScript tools that read the same
// file).
func yamlToJSON(in []byte) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(in))
	var doc, extra yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty YAML")
		}
		return nil, err
	}
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("want exactly one YAML document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("want exactly one YAML document")
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, doc.Content[0], 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// maxDepth bounds alias expansion, so a self-referencing anchor cannot loop.
const maxDepth = 100

func writeJSON(buf *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("line %d: nested more than %d levels (a recursive alias?)", n.Line, maxDepth)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias, depth+1)
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			if key.Kind != yaml.ScalarNode || key.Tag == "!!merge" {
				return fmt.Errorf("line %d: only plain keys are supported (no merge keys or complex keys)", key.Line)
			}
			if i > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(key.Value)
			buf.Write(k)
			buf.WriteByte(':')
			if err := writeJSON(buf, value, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, item, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		return writeScalar(buf, n)
	}
	return fmt.Errorf("line %d: unsupported YAML node kind %v", n.Line, n.Kind)
}

func writeScalar(buf *bytes.Buffer, n *yaml.Node) error {
	var v any
	switch n.ShortTag() {
	case "!!str", "!!timestamp":
		v = n.Value
	case "!!null":
		v = nil
	case "!!bool", "!!int", "!!float":
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
	default:
		return fmt.Errorf("line %d: unsupported YAML tag %s", n.Line, n.ShortTag())
	}
	out, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	buf.Write(out)
	return nil
}
