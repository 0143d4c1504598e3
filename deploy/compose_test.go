package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// composeFile is the part of a Compose file the checks read. The YAML
// parser resolves the anchors and merge keys, as Compose does.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	StopGracePeriod string `yaml:"stop_grace_period"`
}

// requiredNodeEnv are the variables every node sets; secrets among them
// must be required interpolations (${VAR:?...}), never values in the file.
var requiredNodeEnv = []string{
	"CONTEXTLITE_NODE_ID",
	"CONTEXTLITE_ADVERTISE",
	"CONTEXTLITE_DATABASE_URL",
	"CONTEXTLITE_CLUSTER_SECRET",
	"CONTEXTLITE_KEY_PEPPER",
	"CONTEXTLITE_DATA",
}

var requiredSecrets = []string{"CONTEXTLITE_CLUSTER_SECRET", "CONTEXTLITE_KEY_PEPPER"}

const sharedStorageVolume = "caddy-storage"

func TestComposeStructure(t *testing.T) {
	f := readCompose(t)
	for _, p := range checkCompose(f, caddyStoragePath(t)) {
		t.Error(p)
	}
}

// TestComposeCheckFindsProblems breaks the compose file in the ways the
// check exists for, one at a time, and expects each to be reported.
func TestComposeCheckFindsProblems(t *testing.T) {
	storage := caddyStoragePath(t)
	cases := []struct {
		name   string
		mutate func(f *composeFile)
		want   string
	}{
		{"node without shared storage", func(f *composeFile) {
			s := f.Services["node2"]
			s.Volumes = []string{"node2-data:/data"}
			f.Services["node2"] = s
		}, "node2: volume caddy-storage is not mounted"},
		{"duplicate node id", func(f *composeFile) {
			f.Services["node3"].Environment["CONTEXTLITE_NODE_ID"] = "node1"
		}, "node id node1 is used by"},
		{"duplicate advertise", func(f *composeFile) {
			f.Services["node3"].Environment["CONTEXTLITE_ADVERTISE"] = "https://node1:8443"
		}, "advertise https://node1:8443 is used by"},
		{"missing database URL", func(f *composeFile) {
			delete(f.Services["node1"].Environment, "CONTEXTLITE_DATABASE_URL")
		}, "node1: CONTEXTLITE_DATABASE_URL is not set"},
		{"secret in the file", func(f *composeFile) {
			f.Services["node2"].Environment["CONTEXTLITE_CLUSTER_SECRET"] = "hunter2"
		}, "node2: CONTEXTLITE_CLUSTER_SECRET must be a required interpolation"},
		{"shared data volume", func(f *composeFile) {
			s := f.Services["node3"]
			s.Volumes = []string{"node1-data:/data", sharedStorageVolume + ":/caddy-storage"}
			f.Services["node3"] = s
		}, "volume node1-data at /data is shared by"},
		{"postgres without healthcheck", func(f *composeFile) {
			s := f.Services["postgres"]
			s.Healthcheck = nil
			f.Services["postgres"] = s
		}, "postgres: no healthcheck"},
		{"node not waiting for a healthy postgres", func(f *composeFile) {
			d := f.Services["node1"].DependsOn["postgres"]
			d.Condition = "service_started"
			f.Services["node1"].DependsOn["postgres"] = d
		}, "node1: must depend on postgres being service_healthy"},
		{"node without health check", func(f *composeFile) {
			s := f.Services["node2"]
			s.Healthcheck = nil
			f.Services["node2"] = s
		}, "node2: healthcheck must probe /health"},
		{"short stop grace period", func(f *composeFile) {
			s := f.Services["node1"]
			s.StopGracePeriod = "10s"
			f.Services["node1"] = s
		}, "node1: stop_grace_period"},
		{"a fourth node", func(f *composeFile) {
			f.Services["node4"] = f.Services["node3"]
		}, "want 3 nodes"},
		{"storage left in the data dir", func(f *composeFile) {
			delete(f.Services["node1"].Environment, "CONTEXTLITE_STORAGE")
		}, "node1: Caddy's storage resolves to /data/caddy, where volume caddy-storage is not mounted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := readCompose(t)
			if problems := checkCompose(f, storage); len(problems) != 0 {
				t.Fatalf("the file itself has problems: %q", problems)
			}
			c.mutate(&f)
			problems := checkCompose(f, storage)
			for _, p := range problems {
				if strings.Contains(p, c.want) {
					return
				}
			}
			t.Errorf("problems %q, want one containing %q", problems, c.want)
		})
	}
}

// TestComposeConfig has Docker Compose itself validate the file, and
// refuse it when a secret is missing.
func TestComposeConfig(t *testing.T) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker is not installed; the structural check still runs")
	}
	if out, err := exec.Command(docker, "compose", "version").CombinedOutput(); err != nil {
		t.Skipf("docker has no compose plugin (%v: %s); the structural check still runs", err, strings.TrimSpace(string(out)))
	}
	// An empty env file, so a deploy/.env on this machine plays no part.
	envFile := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := []string{
		"POSTGRES_PASSWORD=test",
		"CONTEXTLITE_KEY_PEPPER=test",
		"CONTEXTLITE_CLUSTER_SECRET=test",
	}
	config := func(env []string) (string, error) {
		cmd := exec.Command(docker, "compose", "--env-file", envFile, "-f", "docker-compose.yml", "config", "-q")
		cmd.Env = append(withoutCompose(os.Environ()), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := config(secrets); err != nil {
		t.Fatalf("docker compose config: %v\n%s", err, out)
	}
	out, err := config(secrets[:2])
	if err == nil || !strings.Contains(out, "CONTEXTLITE_CLUSTER_SECRET") {
		t.Errorf("without CONTEXTLITE_CLUSTER_SECRET: err %v, output %q; want a refusal naming it", err, out)
	}
}

// withoutCompose drops the variables the compose file reads from env, so
// the caller's environment does not decide the outcome.
func withoutCompose(env []string) []string {
	var kept []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CONTEXTLITE_") && !strings.HasPrefix(kv, "POSTGRES_") && !strings.HasPrefix(kv, "COMPOSE_") {
			kept = append(kept, kv)
		}
	}
	return kept
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("parse docker-compose.yml: %v", err)
	}
	return f
}

// storageLine is the root Caddyfile's `storage contextlite <default>
// [<override>]` line, placeholders unresolved: Caddy's storage is the
// override's directory when it resolves to one, else the default's.
type storageLine struct{ def, override string }

// at returns the directory line resolves to in env.
func (l storageLine) at(env map[string]string) string {
	if dir := resolveEnv(l.override, env); dir != "" {
		return dir
	}
	return resolveEnv(l.def, env)
}

// caddyStoragePath returns the root Caddyfile's storage line.
func caddyStoragePath(t *testing.T) storageLine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*storage\s+contextlite\s+(\S+)(?:\s+(\S+))?\s*$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("the root Caddyfile has no `storage contextlite <default> [<override>]` line")
	}
	return storageLine{string(m[1]), string(m[2])}
}

// envPlaceholder is a Caddyfile {$VAR} or {$VAR:default}; Caddy does not
// nest them.
var envPlaceholder = regexp.MustCompile(`\{\$([^}:]+)(?::([^}]*))?\}`)

// resolveEnv substitutes the Caddyfile's {$VAR:default} placeholders in s
// from env, as Caddy does when it parses the file.
func resolveEnv(s string, env map[string]string) string {
	return envPlaceholder.ReplaceAllStringFunc(s, func(p string) string {
		m := envPlaceholder.FindStringSubmatch(p)
		if v, ok := env[m[1]]; ok {
			return v
		}
		return m[2]
	})
}

// checkCompose returns what is wrong with f as a three-node cluster whose
// Caddy storage is the Caddyfile's storage line.
func checkCompose(f composeFile, storage storageLine) []string {
	var problems []string
	report := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	pg, ok := f.Services["postgres"]
	switch {
	case !ok:
		report("no postgres service")
	case !strings.HasPrefix(pg.Image, "postgres:15"):
		report("postgres: image %q, want postgres:15", pg.Image)
	case pg.Healthcheck == nil || len(pg.Healthcheck.Test) == 0:
		report("postgres: no healthcheck")
	}
	var nodes []string
	for name := range f.Services {
		if name != "postgres" {
			nodes = append(nodes, name)
		}
	}
	if len(nodes) != 3 {
		report("services %q besides postgres: want 3 nodes", nodes)
	}
	ids := map[string]string{}
	advertised := map[string]string{}
	dataVolumes := map[string]string{}
	for _, name := range nodes {
		s := f.Services[name]
		problems = append(problems, checkNode(name, s, f.Volumes, storage)...)
		if id := s.Environment["CONTEXTLITE_NODE_ID"]; id != "" {
			if other, dup := ids[id]; dup {
				report("node id %s is used by %s and %s", id, other, name)
			}
			ids[id] = name
		}
		if a := s.Environment["CONTEXTLITE_ADVERTISE"]; a != "" {
			if other, dup := advertised[a]; dup {
				report("advertise %s is used by %s and %s", a, other, name)
			}
			advertised[a] = name
		}
		data := s.Environment["CONTEXTLITE_DATA"]
		for _, v := range s.Volumes {
			source, target, _ := strings.Cut(v, ":")
			if target != data {
				continue
			}
			if other, dup := dataVolumes[source]; dup {
				report("volume %s at %s is shared by %s and %s: each node needs its own data directory", source, data, other, name)
			}
			dataVolumes[source] = name
		}
	}
	return problems
}

// checkNode returns what is wrong with the node service s named name.
func checkNode(name string, s composeService, volumes map[string]any, storage storageLine) []string {
	var problems []string
	report := func(format string, args ...any) {
		problems = append(problems, name+": "+fmt.Sprintf(format, args...))
	}
	if s.Build == nil || s.Build.Context == "" {
		report("not built from the repository's Dockerfile")
	} else if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
		report("build: %v", err)
	}
	for _, k := range requiredNodeEnv {
		if s.Environment[k] == "" {
			report("%s is not set", k)
		}
	}
	for _, k := range requiredSecrets {
		if v := s.Environment[k]; v != "" && !regexp.MustCompile(`^\$\{`+k+`:\?[^}]*\}$`).MatchString(v) {
			report("%s must be a required interpolation ${%s:?...}, not a value in the file", k, k)
		}
	}
	if id := s.Environment["CONTEXTLITE_NODE_ID"]; id != "" && s.Environment["CONTEXTLITE_ADVERTISE"] != "https://"+id+":8443" {
		report("advertises %q, want https://%s:8443", s.Environment["CONTEXTLITE_ADVERTISE"], id)
	}
	if u := s.Environment["CONTEXTLITE_DATABASE_URL"]; u != "" && !strings.Contains(u, "@postgres:5432/") {
		report("CONTEXTLITE_DATABASE_URL %q does not point at the postgres service", u)
	}
	if s.DependsOn["postgres"].Condition != "service_healthy" {
		report("must depend on postgres being service_healthy")
	}
	if s.Healthcheck == nil || !strings.HasSuffix(strings.Join(s.Healthcheck.Test, " "), "/health") {
		report("healthcheck must probe /health")
	}
	if d, err := time.ParseDuration(s.StopGracePeriod); err != nil || d < 25*time.Second {
		report("stop_grace_period %q: want at least 25s, the usage flush takes up to 20s", s.StopGracePeriod)
	}
	mounts := map[string]string{}
	for _, v := range s.Volumes {
		source, target, _ := strings.Cut(v, ":")
		if _, declared := volumes[source]; !declared {
			report("volume %s is not declared", source)
		}
		mounts[target] = source
	}
	if mounts[s.Environment["CONTEXTLITE_DATA"]] == "" {
		report("no volume at its data directory %q", s.Environment["CONTEXTLITE_DATA"])
	}
	sharedAt := ""
	for target, source := range mounts {
		if source == sharedStorageVolume {
			sharedAt = target
		}
	}
	if sharedAt == "" {
		report("volume %s is not mounted", sharedStorageVolume)
	} else if at := storage.at(s.Environment); at != sharedAt {
		report("Caddy's storage resolves to %s, where volume %s is not mounted", at, sharedStorageVolume)
	}
	return problems
}
