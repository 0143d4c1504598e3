package moves

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/contextlite/cloud/cluster"
	"github.com/contextlite/cloud/contextengine"
)

// Handler serves the requests nodes send each other under Prefix, each
// signed with the cluster secret (PeerHeader); it answers 401 to any
// other request:
//
//	POST   /cluster/v1/tenants/{id}/move?to=<node>       move the tenant homed here
//	GET    /cluster/v1/tenants/{id}/snapshot             the snapshot of a tenant fenced here
//	POST   /cluster/v1/tenants/{id}/install?from=<node>  pull the tenant from its home and install it
//	DELETE /cluster/v1/tenants/{id}                      remove a copy of a tenant homed elsewhere
type Handler struct {
	Mover  *Mover
	Signer *cluster.Signer

	once sync.Once
	mux  *http.ServeMux
}

// ServeHTTP checks the signature and serves the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(h.init)
	sender, err := h.Signer.Verify(r.Header.Get(PeerHeader), r.Method, r.URL.RequestURI())
	if err != nil || len(sender) == 0 {
		writeError(w, http.StatusUnauthorized, "invalid_credentials", "only the nodes of the cluster call this endpoint")
		return
	}
	if _, pattern := h.mux.Handler(r); pattern == "" {
		writeError(w, http.StatusNotFound, "not_found", "no cluster endpoint has this path and method")
		return
	}
	h.mux.ServeHTTP(w, r.WithContext(withSender(r.Context(), string(sender))))
}

func (h *Handler) init() {
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("POST "+Prefix+"tenants/{id}/move", h.call(h.move))
	h.mux.HandleFunc("GET "+Prefix+"tenants/{id}/snapshot", h.call(h.snapshot))
	h.mux.HandleFunc("POST "+Prefix+"tenants/{id}/install", h.call(h.install))
	h.mux.HandleFunc("DELETE "+Prefix+"tenants/{id}", h.call(h.remove))
}

// call answers fn's error, if any, as JSON.
func (h *Handler) call(fn func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		status, code := Status(err)
		if status >= http.StatusInternalServerError {
			h.Mover.logger().ErrorContext(r.Context(), "cluster call failed", "path", r.URL.Path, "error", err)
		}
		writeError(w, status, code, err.Error())
	}
}

// move serves POST .../move?to=<node>.
func (h *Handler) move(w http.ResponseWriter, r *http.Request) error {
	res, err := h.Mover.Move(r.Context(), r.PathValue("id"), r.URL.Query().Get("to"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// snapshot serves GET .../snapshot: the copy of a tenant fenced here for
// a move. An error after the stream began truncates it, which the
// receiver's checks refuse.
func (h *Handler) snapshot(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !h.Mover.Engine.Fenced(id) {
		return fmt.Errorf("snapshot of %s: %w", id, errNotMoving)
	}
	cw := &countingWriter{w: w}
	w.Header().Set("Content-Type", "application/x-tar")
	err := h.Mover.Engine.Snapshot(r.Context(), id, cw)
	if err != nil && cw.n > 0 {
		h.Mover.logger().ErrorContext(r.Context(), "snapshot stream cut short", "tenant", id, "error", err)
		return nil
	}
	return err
}

// install serves POST .../install?from=<node>: the tenant's home node,
// which signed the request, is moving it here.
func (h *Handler) install(w http.ResponseWriter, r *http.Request) error {
	ctx, id, from := r.Context(), r.PathValue("id"), r.URL.Query().Get("from")
	if from != senderOf(ctx) {
		return fmt.Errorf("install %s: %w: from %q, signed by %q", id, errWrongPeer, from, senderOf(ctx))
	}
	home, err := h.Mover.Control.HomeOf(ctx, id)
	if err != nil {
		return err
	}
	if home.Node.ID != from || from == h.Mover.Self {
		return fmt.Errorf("install %s: %w: its home is %s", id, errWrongPeer, home.Node.ID)
	}
	body, err := h.Mover.Peers.Snapshot(ctx, home.Node, id)
	if err != nil {
		return err
	}
	defer body.Close()
	if err := h.Mover.Engine.Install(ctx, id, body); err != nil {
		return err
	}
	h.Mover.Usage.Arrived(id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// remove serves DELETE /cluster/v1/tenants/{id}: a failed move's copy
// here is removed; the tenant's home never removes its own.
func (h *Handler) remove(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	home, err := h.Mover.Control.HomeOf(ctx, id)
	if err != nil {
		return err
	}
	if home.Node.ID == h.Mover.Self {
		return fmt.Errorf("remove %s: %w", id, errHomedHere)
	}
	release, err := h.Mover.Engine.Fence(ctx, id)
	if errors.Is(err, contextengine.ErrTenantNotFound) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	defer release()
	if err := h.Mover.Engine.Drop(ctx, id); err != nil {
		return err
	}
	h.Mover.Usage.Left(id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Refusals of the cluster endpoints.
var (
	errNotMoving = errors.New("the tenant is not being moved from this node")
	errWrongPeer = errors.New("the tenant is not being moved by the calling node")
	errHomedHere = errors.New("the tenant is at home on this node")
)

// Status returns the HTTP status and error code of a move's error.
func Status(err error) (int, string) {
	if e, ok := errors.AsType[*PeerError](err); ok {
		if e.Status >= http.StatusInternalServerError {
			return http.StatusBadGateway, "node_failed"
		}
		return e.Status, e.Code
	}
	switch {
	case errors.Is(err, cluster.ErrNoHome), errors.Is(err, cluster.ErrUnknownNode),
		errors.Is(err, contextengine.ErrTenantNotFound), errors.Is(err, contextengine.ErrInvalidTenantID):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, cluster.ErrMoveTarget), errors.Is(err, cluster.ErrNoLiveNode):
		return http.StatusUnprocessableEntity, "invalid_target"
	case errors.Is(err, cluster.ErrMoveInProgress), errors.Is(err, cluster.ErrAlreadyHome),
		errors.Is(err, cluster.ErrMoveStale), errors.Is(err, contextengine.ErrTenantExists),
		errors.Is(err, contextengine.ErrTenantMoving), errors.Is(err, errNotMoving),
		errors.Is(err, errWrongPeer), errors.Is(err, errHomedHere):
		return http.StatusConflict, "conflict"
	}
	return http.StatusInternalServerError, "internal_error"
}

// errorBody is the JSON shape of an error answer, the API's.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, message
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// senderKey is the context key of the node that signed a request.
type senderKey struct{}

func withSender(ctx context.Context, node string) context.Context {
	return context.WithValue(ctx, senderKey{}, node)
}

// senderOf returns the node that signed the request of ctx.
func senderOf(ctx context.Context) string {
	s, _ := ctx.Value(senderKey{}).(string)
	return s
}
