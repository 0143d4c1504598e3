package deploy

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const binary = "/usr/local/bin/contextlite"

// unit is a parsed systemd unit file: section, then key, then the values
// of each of the key's lines in order.
type unit map[string]map[string][]string

// get returns the last value of key in section, the one systemd uses.
func (u unit) get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// parseUnit parses the unit file at path (no line continuations).
func parseUnit(path string) (unit, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		case section != "" && strings.Contains(line, "="):
			k, v, _ := strings.Cut(line, "=")
			k = strings.TrimSpace(k)
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		default:
			return nil, fmt.Errorf("%s:%d: not a section or key=value: %q", path, n, line)
		}
	}
	return u, sc.Err()
}

// timeSpan parses the systemd time spans the unit uses: plain seconds or
// a Go duration ("30s", "1m30s").
func timeSpan(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(s)
}

// checkUnit returns what is wrong with u as the appliance's service.
func checkUnit(u unit) []string {
	var problems []string
	report := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	want := map[string]string{
		"ExecStart":       binary + " run --config /etc/contextlite/Caddyfile --adapter caddyfile",
		"EnvironmentFile": "/etc/contextlite/env",
		"StateDirectory":  "contextlite",
		"Restart":         "on-failure",
		"NoNewPrivileges": "true",
		"ProtectSystem":   "strict",
		"ProtectHome":     "true",
		"PrivateTmp":      "true",
	}
	for k, v := range want {
		if got := u.get("Service", k); got != v {
			report("Service.%s = %q, want %q", k, got, v)
		}
	}
	if user := u.get("Service", "User"); user == "" || user == "root" || user == "0" {
		report("Service.User = %q, want a dedicated user", user)
	}
	if !strings.Contains(u.get("Service", "AmbientCapabilities"), "CAP_NET_BIND_SERVICE") {
		report("Service.AmbientCapabilities lacks CAP_NET_BIND_SERVICE")
	}
	state := "/var/lib/" + u.get("Service", "StateDirectory")
	if !strings.Contains(" "+strings.Join(u["Service"]["ReadWritePaths"], " ")+" ", " "+state+" ") {
		report("Service.ReadWritePaths lacks the state directory %s", state)
	}
	env := map[string]string{}
	for _, line := range u["Service"]["Environment"] {
		for _, kv := range strings.Fields(line) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	if env["CONTEXTLITE_DATA"] != state {
		report("Service.Environment sets CONTEXTLITE_DATA=%q, want the state directory %s", env["CONTEXTLITE_DATA"], state)
	}
	if n, err := strconv.Atoi(u.get("Service", "LimitNOFILE")); err != nil || n < 65536 {
		report("Service.LimitNOFILE = %q, want at least 65536", u.get("Service", "LimitNOFILE"))
	}
	if d, err := timeSpan(u.get("Service", "TimeoutStopSec")); err != nil || d < 25*time.Second {
		report("Service.TimeoutStopSec = %q, want at least 25s: the usage flush takes up to 20s", u.get("Service", "TimeoutStopSec"))
	}
	if r := u.get("Service", "ExecReload"); !strings.HasPrefix(r, binary+" reload --config /etc/contextlite/Caddyfile") {
		report("Service.ExecReload = %q, want %s reload with the same config", r, binary)
	}
	if u.get("Install", "WantedBy") == "" {
		report("Install.WantedBy is not set")
	}
	return problems
}

func TestUnitKeys(t *testing.T) {
	u, err := parseUnit("contextlite.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkUnit(u) {
		t.Error(p)
	}
}

// TestUnitCheckFindsProblems changes the unit's keys one at a time and
// expects each change to be reported.
func TestUnitCheckFindsProblems(t *testing.T) {
	cases := map[string]struct {
		key, value, want string
	}{
		"root":              {"User", "root", "want a dedicated user"},
		"short stop":        {"TimeoutStopSec", "10", "want at least 25s"},
		"no strict":         {"ProtectSystem", "full", "Service.ProtectSystem"},
		"no env file":       {"EnvironmentFile", "", "Service.EnvironmentFile"},
		"other state dir":   {"StateDirectory", "other", "lacks the state directory /var/lib/other"},
		"no bind cap":       {"AmbientCapabilities", "", "lacks CAP_NET_BIND_SERVICE"},
		"few files":         {"LimitNOFILE", "1024", "Service.LimitNOFILE"},
		"reload by signal":  {"ExecReload", "/bin/kill -USR1 $MAINPID", "Service.ExecReload"},
		"restart always on": {"Restart", "always", "Service.Restart"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			u, err := parseUnit("contextlite.service")
			if err != nil {
				t.Fatal(err)
			}
			u["Service"][c.key] = append(u["Service"][c.key], c.value)
			problems := checkUnit(u)
			for _, p := range problems {
				if strings.Contains(p, c.want) {
					return
				}
			}
			t.Errorf("problems %q, want one containing %q", problems, c.want)
		})
	}
}

// TestUnitVerify has systemd check the unit: every key known, every value
// parsed. The binary is not installed here, so a copy of the unit runs a
// stub in its place; everything else is the unit as shipped.
func TestUnitVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed; the key check still runs")
	}
	dir := t.TempDir()
	stub := filepath.Join(dir, "contextlite")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("contextlite.service")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "contextlite.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(data), binary, stub)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// Unknown keys and unparsable values are warnings, exit status 0.
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "contextlite.service") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
}

// TestEnvExample checks that env.example sets only variables the root
// Caddyfile reads, leaves secrets empty and does not move the data
// directory the unit gives the service.
func TestEnvExample(t *testing.T) {
	caddyfile, err := os.ReadFile(filepath.Join("..", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, m := range regexp.MustCompile(`\{(?:\$|env\.)(CONTEXTLITE_[A-Z0-9_]+)`).FindAllSubmatch(caddyfile, -1) {
		read[string(m[1])] = true
	}
	data, err := os.ReadFile("env.example")
	if err != nil {
		t.Fatal(err)
	}
	assignment := regexp.MustCompile(`^(#?)([A-Z][A-Z0-9_]*)=(.*)$`)
	secret := regexp.MustCompile(`SECRET|PEPPER|TOKEN|PASSWORD|DATABASE_URL`)
	set := 0
	for n, line := range strings.Split(string(data), "\n") {
		m := assignment.FindStringSubmatch(line)
		if m == nil {
			if line != "" && !strings.HasPrefix(line, "#") {
				t.Errorf("env.example:%d: not VAR=value: %q", n+1, line)
			}
			continue
		}
		commented, name, value := m[1] == "#", m[2], m[3]
		if !read[name] {
			t.Errorf("env.example:%d: the Caddyfile does not read %s", n+1, name)
		}
		if commented {
			continue
		}
		set++
		if name == "CONTEXTLITE_DATA" {
			t.Errorf("env.example:%d: sets CONTEXTLITE_DATA, which the unit sets to its state directory", n+1)
		}
		if secret.MatchString(name) && value != "" {
			t.Errorf("env.example:%d: %s has a value; secrets are left empty for the operator", n+1, name)
		}
	}
	if set == 0 {
		t.Error("env.example sets no variable")
	}
}
