package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// pgServer is a private PostgreSQL instance in a test's temporary
// directory, listening on 127.0.0.1 and a unix socket in that directory.
type pgServer struct {
	t      *testing.T
	binDir string // holds initdb and pg_ctl
	dir    string // data/, the log and the socket
	port   int
	runAs  string // user to run PostgreSQL as when we are root; empty: ourselves
}

// startPostgres creates and starts a private PostgreSQL, stopped when the
// test ends. Without PostgreSQL the test is skipped, or fails under CI=true.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	binDir, err := postgresBinDir()
	if err != nil {
		skipOrFail(t, err.Error())
	}
	pg := &pgServer{t: t, binDir: binDir, dir: t.TempDir(), port: freePorts(t, 1)[0]}
	if os.Geteuid() == 0 {
		if err := pg.dropRoot(); err != nil {
			skipOrFail(t, "PostgreSQL refuses to run as root: "+err.Error())
		}
	}
	pg.run("initdb", "-D", pg.dataDir(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
	t.Cleanup(func() {
		// Whether or not it is running; errors mean it is not.
		pg.command("pg_ctl", "-D", pg.dataDir(), "-m", "immediate", "-w", "stop").Run()
		if t.Failed() {
			t.Logf("postgres log (last %d lines):\n%s", logTailLines, tail(pg.logPath(), logTailLines))
		}
	})
	pg.start()
	return pg
}

// skipOrFail skips the test with msg, or fails it when CI=true.
func skipOrFail(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI needs the PostgreSQL crash test", msg)
	}
	t.Skipf("%s; skipping the PostgreSQL crash test", msg)
}

// postgresBinDir finds the directory of initdb and pg_ctl: the highest
// version under /usr/lib/postgresql, else the one on PATH.
func postgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	best, bestVersion := "", -1.0
	for _, dir := range dirs {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		if err == nil && v > bestVersion && hasPostgresTools(dir) {
			best, bestVersion = dir, v
		}
	}
	if best != "" {
		return best, nil
	}
	if initdb, err := exec.LookPath("initdb"); err == nil && hasPostgresTools(filepath.Dir(initdb)) {
		return filepath.Dir(initdb), nil
	}
	return "", errors.New("initdb and pg_ctl not found under /usr/lib/postgresql/*/bin nor on PATH")
}

// hasPostgresTools reports whether dir holds initdb and pg_ctl.
func hasPostgresTools(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}

// dropRoot arranges for PostgreSQL to run as the postgres user: it owns
// pg.dir and may traverse the test's temporary root to reach it.
func (pg *pgServer) dropRoot() error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("runuser"); err != nil {
		return err
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return err
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return err
	}
	if err := os.Chown(pg.dir, uid, gid); err != nil {
		return err
	}
	// t.TempDir's parent is private (0700) to us.
	if err := os.Chmod(filepath.Dir(pg.dir), 0o711); err != nil {
		return err
	}
	pg.runAs = u.Username
	return nil
}

func (pg *pgServer) dataDir() string { return filepath.Join(pg.dir, "data") }

func (pg *pgServer) logPath() string { return filepath.Join(pg.dir, "postgres.log") }

// DSN returns the URL of the default database as the postgres superuser.
func (pg *pgServer) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

// start starts PostgreSQL and waits until it accepts connections.
func (pg *pgServer) start() {
	pg.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", pg.port, pg.dir)
	pg.run("pg_ctl", "-D", pg.dataDir(), "-l", pg.logPath(), "-o", opts, "-w", "-t", "60", "start")
}

// stop shuts PostgreSQL down, disconnecting its clients, and waits.
func (pg *pgServer) stop() {
	pg.t.Helper()
	pg.run("pg_ctl", "-D", pg.dataDir(), "-m", "fast", "-w", "-t", "60", "stop")
}

// run runs one of PostgreSQL's programs and fails the test if it fails.
func (pg *pgServer) run(name string, args ...string) {
	pg.t.Helper()
	if out, err := pg.command(name, args...).CombinedOutput(); err != nil {
		pg.t.Fatalf("%s %v: %v\n%s\npostgres log:\n%s", name, args, err, out, tail(pg.logPath(), logTailLines))
	}
}

// command returns the command running PostgreSQL's program name, as
// pg.runAs when set.
func (pg *pgServer) command(name string, args ...string) *exec.Cmd {
	bin := filepath.Join(pg.binDir, name)
	cmd := exec.Command(bin, args...)
	if pg.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", pg.runAs, "--", bin}, args...)...)
	}
	cmd.Dir = pg.dir
	return cmd
}
