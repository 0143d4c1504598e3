// Package caddymodule holds the Caddy modules of ContextLite Cloud: the
// contextlite app, which owns the shared state, and the HTTP handlers that
// authenticate tenants, serve the REST API and sign tenants up.
package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/contextlite/cloud/access"
	"github.com/contextlite/cloud/api"
	"github.com/contextlite/cloud/backup"
	"github.com/contextlite/cloud/billing"
	"github.com/contextlite/cloud/console"
	"github.com/contextlite/cloud/domains"
	"github.com/contextlite/cloud/health"
	"github.com/contextlite/cloud/jwtauth"
	"github.com/contextlite/cloud/mcpserver"
	"github.com/contextlite/cloud/metering"
	"github.com/contextlite/cloud/moves"
	"github.com/contextlite/cloud/sso"
	"github.com/contextlite/cloud/tenancy"
)

func init() {
	caddy.RegisterModule(App{})
	httpcaddyfile.RegisterGlobalOption("contextlite", parseGlobalOption)
}

// App is the contextlite app: configuration and the state every handler
// shares. The engine and the control plane live in a usage pool, so a
// config reload neither reopens nor leaks them.
type App struct {
	// Domain is the apex domain; tenants live on its subdomains.
	Domain string `json:"domain,omitempty"`
	// DataDir holds tenant databases and the embedded control plane.
	DataDir string `json:"data_dir,omitempty"`
	// ControlDSN selects PostgreSQL (postgres://...); empty: embedded
	// SQLite. Like every secret setting it may be an {env.VAR}
	// placeholder, resolved at provisioning, which keeps the value out of
	// the saved config.
	ControlDSN string `json:"control_dsn,omitempty"`
	// KeyPepper, when set, makes API key hashes HMAC-SHA256 with it;
	// {env.VAR} is resolved at provisioning.
	KeyPepper string `json:"key_pepper,omitempty"`
	// MaxOpenTenants bounds the open tenant databases (default 100); it
	// changes only at a restart, and a reload that changes it is refused.
	MaxOpenTenants int `json:"max_open_tenants,omitempty"`
	// Tiers replace or add to the default pricing tiers (free, starter,
	// pro, enterprise), by name.
	Tiers map[string]TierConfig `json:"tiers,omitempty"`
	// JWTIssuers are trusted issuers of bearer tokens.
	JWTIssuers []JWTIssuer `json:"jwt_issuers,omitempty"`
	// StorageLimit is each tenant's storage quota in bytes (default 1 GiB).
	StorageLimit int64 `json:"storage_limit,omitempty"`
	// OveragePercent lets paid tiers run this far past their quotas,
	// metered, before requests are refused (default 0).
	OveragePercent int64 `json:"overage_percent,omitempty"`
	// UsageShipInterval is how often usage moves from the tenants'
	// outboxes to the control plane (default 2s); restart only, like
	// MaxOpenTenants.
	UsageShipInterval caddy.Duration `json:"usage_ship_interval,omitempty"`
	// AllowPrivateWebhooks lets notice webhooks reach loopback and private
	// addresses, over plain HTTP too; for development and tests only.
	// Restart only, like MaxOpenTenants.
	AllowPrivateWebhooks bool `json:"allow_private_webhooks,omitempty"`
	// Stripe enables billing.
	Stripe *StripeConfig `json:"stripe,omitempty"`
	// AdminToken enables the operator API (/admin/v1) for bearers of it;
	// {env.VAR} is resolved at provisioning.
	AdminToken string `json:"admin_token,omitempty"`
	// Backups, when set, are taken on a schedule.
	Backups *BackupConfig `json:"backups,omitempty"`
	// Cluster, when set, makes this server a node of a cluster.
	Cluster *ClusterConfig `json:"cluster,omitempty"`
	// DomainDNS is the DNS server (host:port) that verifies custom
	// domains' TXT records; empty: the system's resolver.
	DomainDNS string `json:"domain_dns,omitempty"`

	shared   *shared
	poolKey  string
	lockKey  string // the data dir whose lock this config holds
	tiers    tenancy.Tiers
	plans    metering.Plans
	keys     *tenancy.Authenticator
	tenants  *access.TenantCache // JWT callers' and certificate checks' tenants
	sso      *sso.Verifier       // tenants' single sign-on tokens
	resolver *access.Resolver
	node     *clusterNode // nil outside a cluster
	mover    *moves.Mover // nil outside a cluster
	peers    http.Handler // the cluster endpoints other nodes call
	service  *tenancy.Service
	api      *api.Handler
	mcp      *mcpserver.Handler
	signup   *api.Signup
	console  *console.Console
	billing  *billing.Billing
	webhook  http.Handler // POST /webhooks/stripe
	health   *health.Handler
	operator *api.Operator
	ctx      caddy.Context
	logger   *zap.Logger
	stop     context.CancelFunc
	running  *sync.WaitGroup // background work of this config

	// fixedChanges are the settings needing a restart that this config
	// would change in the running state; Validate refuses them.
	fixedChanges []string
}

// defaultMaxOpenTenants is the default of MaxOpenTenants.
const defaultMaxOpenTenants = 100

// maxBurst bounds a tier's burst: each of its tenants holds a ring of
// that many timestamps, 24 bytes each, in the tier's rate-limit zone.
const maxBurst = 100_000

// tenantCacheTTL is how long JWT callers' tenants are cached, like API keys.
const tenantCacheTTL = 30 * time.Second

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "contextlite", New: func() caddy.Module { return new(App) }}
}

// Provision sets defaults and opens or reuses the shared state.
func (a *App) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	a.logger = ctx.Logger()
	a.resolveSecrets()
	if a.Cluster != nil && a.Cluster.NodeID == "" {
		a.Cluster = nil // an unset environment variable: no cluster
	}
	if a.Domain == "" {
		a.Domain = "localhost"
	}
	if a.DataDir == "" {
		a.DataDir = filepath.Join(caddy.AppDataDir(), "contextlite")
	}
	a.tiers = mergeTiers(a.Tiers)
	a.plans = metering.NewPlans(a.tiers, a.StorageLimit, a.OveragePercent)
	if a.UsageShipInterval <= 0 {
		a.UsageShipInterval = caddy.Duration(metering.DefaultShipInterval)
	}
	if a.MaxOpenTenants <= 0 {
		a.MaxOpenTenants = defaultMaxOpenTenants
	}
	if err := a.lockDataDir(); err != nil {
		return err
	}
	a.poolKey = a.DataDir + "\x00" + a.ControlDSN
	cfg := sharedConfig{dataDir: a.DataDir, dsn: a.ControlDSN, maxOpen: a.MaxOpenTenants,
		shipInterval: time.Duration(a.UsageShipInterval), allowPrivateWebhooks: a.AllowPrivateWebhooks, tiers: a.tiers}
	val, _, err := pool.LoadOrNew(a.poolKey, func() (caddy.Destructor, error) {
		// The state outlives this config, so not its context.
		return openShared(context.WithoutCancel(ctx), cfg, ctx.Slogger())
	})
	if err != nil {
		return err
	}
	a.shared = val.(*shared)
	a.fixedChanges = a.shared.cfg.changes(cfg)
	if err := a.shared.metrics.register(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return a.wire(ctx)
}

// resolveSecrets replaces {env.*} placeholders in the secret settings
// with the environment's values. The config keeps the placeholders, so the
// secrets appear neither in the admin API's GET /config/ nor in
// autosave.json; a {$VAR} in the Caddyfile is substituted at parse time
// and would.
func (a *App) resolveSecrets() {
	repl := caddy.NewReplacer()
	secrets := []*string{&a.ControlDSN, &a.KeyPepper, &a.AdminToken}
	if a.Cluster != nil {
		secrets = append(secrets, &a.Cluster.NodeID, &a.Cluster.Advertise, &a.Cluster.Secret)
	}
	if a.Stripe != nil {
		secrets = append(secrets, &a.Stripe.SecretKey, &a.Stripe.WebhookSecret)
	}
	for _, s := range secrets {
		*s = repl.ReplaceKnown(*s, "")
	}
}

// wire builds the per-config parts on the shared state.
func (a *App) wire(ctx caddy.Context) error {
	store, engine := a.shared.store, a.shared.engine
	hasher := tenancy.Hasher{Pepper: []byte(a.KeyPepper)}
	a.keys = tenancy.NewAuthenticator(store, hasher, tenancy.AuthOptions{})
	a.tenants = access.CacheTenants(store, tenantCacheTTL)
	providers := sso.NewProviders(a.AllowPrivateWebhooks, sso.DefaultProviderTTL)
	a.sso = sso.NewVerifier(store, providers, tenantCacheTTL)
	a.resolver = &access.Resolver{Domain: a.Domain, Keys: a.keys, Tenants: a.tenants, Domains: store, SSO: a.sso, Tiers: a.tiers}
	if len(a.JWTIssuers) > 0 {
		verifier, err := jwtauth.New(ctx, issuers(a.JWTIssuers))
		if err != nil {
			return fmt.Errorf("jwt issuers: %w", err)
		}
		a.resolver.Tokens = verifier
	}
	a.service = &tenancy.Service{Store: store, Storage: engine, Hasher: hasher, Tiers: a.tiers, Now: time.Now}
	a.peers = notInCluster
	if a.node = a.newNode(); a.node != nil {
		// A tenant signed up here is homed here, where its storage is.
		a.service.Storage = homedStorage{Manager: engine, claim: func(ctx context.Context, id string) error {
			_, err := a.node.claim(ctx, a.shared.coord, []string{id})
			return err
		}}
		if err := a.newMover(ctx); err != nil {
			return err
		}
	}
	a.api = &api.Handler{Engine: engine, Accounts: accounts{a.service, a.forget}, Tiers: a.tiers,
		Meter: a.shared.meter, Plans: a.plans, Webhooks: store, Audit: store, AllowPrivateWebhooks: a.AllowPrivateWebhooks, Logger: ctx.Slogger()}
	a.mcp = &mcpserver.Handler{Engine: engine, Meter: a.shared.meter, Plans: a.plans, Audit: store, Logger: ctx.Slogger()}
	a.signup = &api.Signup{Service: a.service, Logger: ctx.Slogger()}
	if isLocalhost(a.Domain) {
		// Only the local CA certifies localhost names.
		a.signup.CARoot = localCARoot(ctx)
	}
	if err := a.newBilling(ctx); err != nil {
		return err
	}
	a.webhook = a.shared.metrics.countWebhooks(a.webhook)
	a.api.Domains = &domains.Service{Store: store, Resolver: dnsResolver(a.DomainDNS), Apex: a.Domain}
	a.api.SSO = &sso.Service{Store: store, Providers: providers, Changed: a.sso.ForgetAll}
	a.health = a.newHealth()
	var err error
	a.console, err = console.New(console.Config{Signups: a.signup, Callers: a.resolver, API: a.api,
		Store: store, SSO: &sso.Login{Store: store, Providers: providers}, Hasher: hasher, Logger: ctx.Slogger()})
	if err != nil {
		return err
	}
	a.operator = &api.Operator{Token: a.AdminToken, Store: auditingStore{forgettingStore{store, a.forget}, tenancy.ActorOperator},
		Tiers: a.tiers, Logger: ctx.Slogger()}
	if a.mover != nil {
		a.operator.Moves = a.mover
	}
	return nil
}

// dnsResolver returns a resolver that asks server (host:port), or the
// system's when server is empty.
func dnsResolver(server string) *net.Resolver {
	if server == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
}

// minFreeBytes is the free space under the data dir below which the
// service reports itself unhealthy.
const minFreeBytes = 100 << 20

// newHealth builds GET /health over this config's state.
func (a *App) newHealth() *health.Handler {
	store, engine := a.shared.store, a.shared.engine
	stripeCheck := func(context.Context) error { return health.ErrDisabled }
	if a.billing != nil {
		stripeCheck = func(context.Context) error { return a.billing.Health() }
	}
	h := &health.Handler{
		Version: health.Version("github.com/contextlite/cloud"),
		Started: a.shared.started,
		Checks: []health.Check{
			{Name: "database", Required: true, Run: func(ctx context.Context) error { _, err := store.Tenants(ctx); return err }},
			{Name: "storage", Required: true, Run: health.Storage(a.DataDir, minFreeBytes)},
			{Name: "stripe", Run: stripeCheck},
		},
		TenantCount: func(ctx context.Context) (int, error) {
			ts, err := store.Tenants(ctx)
			n := 0
			for _, t := range ts {
				if t.Status != tenancy.StatusDeleted {
					n++
				}
			}
			return n, err
		},
		OpenTenants: engine.OpenCount,
	}
	if c := a.shared.coord; c != nil {
		h.Jobs = c.Leases.Held // the singleton jobs run under leases
	}
	return h
}

// forget drops what this instance caches of a tenant (its keys, and the
// tenant as JWT callers and certificate checks see it), so a change to
// it applies to the next request and handshake here. Nodes sharing a
// PostgreSQL control plane are told at once; if that fails, they see the
// change within their caches' 30 s.
func (a *App) forget(tenantID string) {
	a.forgetHere(tenantID)
	if c := a.shared.coord; c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), forgetTimeout)
		defer cancel()
		if err := c.Bus.Forget(ctx, tenantID); err != nil {
			a.logger.Warn("other nodes not told of a tenant's change; their caches expire it", zap.String("tenant", tenantID), zap.Error(err))
		}
	}
}

// forgetTimeout bounds telling the other nodes of a change.
const forgetTimeout = 2 * time.Second

// forgetHere drops what this instance caches of a tenant, or of every
// tenant for "".
func (a *App) forgetHere(tenantID string) {
	if tenantID == "" {
		a.forgetCaches()
		return
	}
	a.keys.Forget(tenantID)
	a.tenants.Forget(tenantID)
	if a.node != nil {
		a.node.homes.Forget(tenantID)
	}
}

// forgetCaches drops the cached keys and tenants, so changes made to the
// control plane by another process apply at the next request.
func (a *App) forgetCaches() {
	a.keys.ForgetAll()
	a.tenants.ForgetAll()
	a.sso.ForgetAll()
	if a.node != nil {
		a.node.homes.Forget("")
	}
}

// accounts makes key and tenant changes take effect at once on this
// instance by forgetting what it caches of the tenant.
type accounts struct {
	*tenancy.Service
	forget func(tenantID string)
}

// RevokeKey revokes a key and forgets the tenant's cached keys.
func (a accounts) RevokeKey(ctx context.Context, tenantID, keyID string) error {
	defer a.forget(tenantID)
	return a.Service.RevokeKey(ctx, tenantID, keyID)
}

// RotateKey rotates a key and forgets the tenant's cached keys.
func (a accounts) RotateKey(ctx context.Context, tenantID, keyID string, grace time.Duration) (string, tenancy.APIKey, error) {
	defer a.forget(tenantID)
	return a.Service.RotateKey(ctx, tenantID, keyID, grace)
}

// Validate checks the configuration. A reload may not change the
// settings of the state it shares with the running config (see
// sharedConfig): they would apply to one part and not another.
func (a *App) Validate() error {
	if len(a.fixedChanges) > 0 {
		return fmt.Errorf("these settings change only at a restart of the server, not at a reload; restore them or restart: %s",
			strings.Join(a.fixedChanges, ", "))
	}
	for name, t := range a.tiers {
		if t.TokensPerQuery <= 0 || t.RatePerSecond <= 0 {
			return fmt.Errorf("tier %s: tokens_per_query and rate_per_second must be positive", name)
		}
		if t.Burst < 0 || t.Burst > maxBurst || t.Burst == 0 && t.RatePerSecond > maxBurst {
			return fmt.Errorf("tier %s: burst (default rate_per_second) must be between 1 and %d", name, maxBurst)
		}
	}
	if b := a.Backups; b != nil && (b.Every <= 0 || b.Keep < 0) {
		return fmt.Errorf("backups: every must be positive and keep not negative")
	}
	if a.StorageLimit < 0 || a.OveragePercent < 0 {
		return fmt.Errorf("storage_limit and overage_percent must not be negative")
	}
	return a.validateCluster()
}

// Start starts the background work of this config and says how to begin.
func (a *App) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	a.stop, a.running = cancel, new(sync.WaitGroup)
	a.running.Go(func() { a.keys.Run(ctx) })
	a.running.Go(func() { a.shared.singleton(ctx, jobBilling, a.runBilling) })
	if c := a.shared.coord; c != nil {
		a.running.Go(func() { c.Bus.Listen(ctx, a.forgetHere, nil) })
	}
	if err := a.joinCluster(ctx); err != nil {
		cancel()
		a.running.Wait()
		return err
	}
	if b := a.Backups; b != nil && b.Dir != "" {
		sched := &backup.Schedule{DataDir: a.DataDir, Dir: b.Dir, Every: time.Duration(b.Every), Keep: b.Keep, Logger: a.ctx.Slogger()}
		a.running.Go(func() { sched.Run(ctx) })
	}
	port := ""
	if v, err := a.ctx.AppIfConfigured("http"); err == nil && v.(*caddyhttp.App).HTTPSPort != 0 {
		port = ":" + strconv.Itoa(v.(*caddyhttp.App).HTTPSPort)
	}
	trust := "-k"
	fields := []zap.Field{zap.String("domain", a.Domain), zap.String("data_dir", a.DataDir)}
	if root := localCARoot(a.ctx); root != "" {
		trust = "--cacert " + root
		fields = append(fields, zap.String("local_ca_root", root))
	}
	fields = append(fields, zap.String("signup",
		"curl "+trust+" https://"+a.Domain+port+`/signup -d '{"email": "you@example.com", "company": "Acme"}'`))
	a.logger.Info("contextlite ready", fields...)
	return nil
}

// localCARoot returns the absolute path of the local CA's root certificate
// in ctx's storage, or "" when the storage is not a file system.
func localCARoot(ctx caddy.Context) string {
	fs, ok := ctx.Storage().(*certmagic.FileStorage)
	if !ok {
		return ""
	}
	root := filepath.Join(fs.Path, "pki", "authorities", "local", "root.crt")
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return root
}

// isLocalhost reports whether domain is localhost or a name under it.
func isLocalhost(domain string) bool {
	d := strings.ToLower(strings.TrimSuffix(domain, "."))
	return d == "localhost" || strings.HasSuffix(d, ".localhost")
}

// Stop stops the background work, flushing what it holds.
func (a *App) Stop() error {
	if a.stop != nil {
		a.stop()
		a.running.Wait()
	}
	return nil
}

// Cleanup releases the shared state and the data dir's lock; the last
// config using them closes the state, then releases the lock.
func (a *App) Cleanup() error {
	var err error
	if a.shared != nil {
		_, err = pool.Delete(a.poolKey)
	}
	if a.lockKey != "" {
		_, lerr := locks.Delete(a.lockKey)
		err = errors.Join(err, lerr)
	}
	return err
}

// parseGlobalOption parses the contextlite global option:
//
//	contextlite {
//		domain           <apex>
//		data_dir         <dir>
//		control_dsn      [postgres://... | {env.VAR}]
//		key_pepper       [secret | {env.VAR}]
//		admin_token      [secret | {env.VAR}]
//		domain_dns       [host:port]
//		max_open_tenants <n>
//		storage_limit    <size>       # e.g. 1GiB
//		overage_percent  <n>
//		usage_ship_interval <duration>
//		allow_private_webhooks [true|false]
//		tier <name> {
//			queries_per_month|documents|workspaces|tokens_per_query|rate_per_second|burst <n>
//			retention <duration>
//		}
//		stripe { ... }  # see parseStripe
//		backups { dir <dir>; every <duration>; keep <n> }
//		cluster { node_id <id>; advertise <url>; secret <secret> }  # see parseCluster
//		jwt_issuer <iss> {
//			jwks_url|jwks_file <where>
//			audience|authorized_party|algorithm <value...>
//			tenant_claim <claim>
//			leeway <duration>
//		}
//	}
func parseGlobalOption(d *caddyfile.Dispenser, _ any) (any, error) {
	a := new(App)
	if err := a.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "contextlite", Value: caddyconfig.JSON(a, nil)}, nil
}

// UnmarshalCaddyfile sets up the app from Caddyfile tokens.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // option name
	for d.NextBlock(0) {
		var err error
		switch d.Val() {
		case "domain":
			err = oneArg(d, &a.Domain)
		case "data_dir":
			err = oneArg(d, &a.DataDir)
		case "control_dsn":
			err = optionalArg(d, &a.ControlDSN)
		case "key_pepper":
			err = optionalArg(d, &a.KeyPepper)
		case "admin_token":
			err = optionalArg(d, &a.AdminToken)
		case "domain_dns":
			err = optionalArg(d, &a.DomainDNS)
		case "max_open_tenants":
			err = intArg(d, &a.MaxOpenTenants)
		case "storage_limit":
			err = sizeArg(d, &a.StorageLimit)
		case "overage_percent":
			err = int64Arg(d, &a.OveragePercent)
		case "usage_ship_interval":
			err = caddyDurationArg(d, &a.UsageShipInterval)
		case "allow_private_webhooks":
			err = boolArg(d, &a.AllowPrivateWebhooks)
		case "tier":
			err = a.parseTier(d)
		case "jwt_issuer":
			err = a.parseIssuer(d)
		case "stripe":
			err = a.parseStripe(d)
		case "backups":
			err = a.parseBackups(d)
		case "cluster":
			err = a.parseCluster(d)
		default:
			err = d.Errf("unknown contextlite option %q", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *App) parseTier(d *caddyfile.Dispenser) error {
	var name string
	if err := oneArg(d, &name); err != nil {
		return err
	}
	def, _ := tenancy.DefaultTiers().Get(name) // a new tier starts from zero
	t := tierConfig(def)
	if prev, seen := a.Tiers[name]; seen {
		t = prev
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "queries_per_month":
			err = int64Arg(d, &t.QueriesPerMonth)
		case "documents":
			err = int64Arg(d, &t.Documents)
		case "workspaces":
			err = int64Arg(d, &t.Workspaces)
		case "tokens_per_query":
			err = intArg(d, &t.TokensPerQuery)
		case "rate_per_second":
			err = intArg(d, &t.RatePerSecond)
		case "burst":
			err = intArg(d, &t.Burst)
		case "retention":
			err = durationArg(d, &t.Retention)
		default:
			err = d.Errf("unknown tier setting %q", d.Val())
		}
		if err != nil {
			return err
		}
	}
	if a.Tiers == nil {
		a.Tiers = make(map[string]TierConfig)
	}
	a.Tiers[name] = t
	return nil
}

func (a *App) parseIssuer(d *caddyfile.Dispenser) error {
	var iss JWTIssuer
	if err := oneArg(d, &iss.Issuer.Issuer); err != nil {
		return err
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "jwks_url":
			err = oneArg(d, &iss.JWKSURL)
		case "jwks_file":
			err = oneArg(d, &iss.JWKSFile)
		case "audience":
			iss.Audiences = append(iss.Audiences, d.RemainingArgs()...)
		case "authorized_party":
			iss.AuthorizedParties = append(iss.AuthorizedParties, d.RemainingArgs()...)
		case "algorithm":
			iss.Algorithms = append(iss.Algorithms, d.RemainingArgs()...)
		case "tenant_claim":
			err = oneArg(d, &iss.TenantClaim)
		case "leeway":
			err = durationArg(d, &iss.Leeway)
		default:
			err = d.Errf("unknown jwt_issuer setting %q", d.Val())
		}
		if err != nil {
			return err
		}
	}
	a.JWTIssuers = append(a.JWTIssuers, iss)
	return nil
}

// Interface guards.
var (
	_ caddy.App             = (*App)(nil)
	_ caddy.Provisioner     = (*App)(nil)
	_ caddy.Validator       = (*App)(nil)
	_ caddy.CleanerUpper    = (*App)(nil)
	_ caddyfile.Unmarshaler = (*App)(nil)
)
