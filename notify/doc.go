// Package notify delivers usage notices (a meter of a tenant reaching 80%
// or 100% of its quota) to the tenant's webhook, signed, and retries
// failed deliveries.
//
// # Deliveries
//
// A notice is POSTed to the webhook URL, which must be https, with the
// notice as a JSON body and these headers:
//
//	Content-Type: application/json
//	User-Agent: ContextLite-Webhooks/1
//	ContextLite-Notice-Id: <the notice's ID>
//	ContextLite-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
//
// Any 2xx response acknowledges the notice. Anything else, a redirect
// included (redirects are not followed), no response within 10 seconds, or
// a connection error is retried after 10s, 20s, 40s, ... doubling up to
// 1h, each ±20%; after 8 attempts the notice is given up. Webhooks are not
// called on private, loopback, link-local or otherwise internal addresses.
// A notice may arrive more than once: receivers should dedupe on
// ContextLite-Notice-Id.
//
// # Signatures
//
// ContextLite-Signature proves that a request comes from ContextLite Cloud
// and was not altered. Its value is comma-separated key=value entries:
//
//	t=1767225600,v1=f44b1639a603ca54a33202b91ef7d51d9531bae57ed6b7f30eab8835dc65d9e9
//
// t is when the attempt was made, in decimal seconds since the Unix epoch;
// each retry is signed anew. v1 is the lowercase hex HMAC-SHA256 of the
// signed payload, keyed with the webhook secret (the whole string, its
// "whsec_" prefix included, as bytes); the signed payload is t as it
// appears in the header, a full stop, and the raw request body, byte for
// byte:
//
//	v1 = hex(HMAC-SHA256(key = secret, message = t + "." + body))
//
// The header above is that of body {"ok":true} sent at 1767225600 with the
// secret whsec_example.
//
// The header may carry several v1 entries (while a secret is rotated) and
// entries of other schemes, which receivers should ignore; a request is
// authentic if any v1 entry matches. To verify, take the raw body before
// any JSON parsing, compute the expected v1 for the header's t, compare it
// with each v1 entry in constant time, and reject a t more than a few
// minutes from your clock, so that a captured request cannot be replayed
// later. [Verify] does all of this:
//
//	func handleNotice(w http.ResponseWriter, r *http.Request) {
//		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
//		if err == nil {
//			err = notify.Verify(secret, r.Header.Get(notify.SignatureHeader), body, 5*time.Minute, time.Now())
//		}
//		if err != nil {
//			http.Error(w, "invalid signature", http.StatusBadRequest)
//			return
//		}
//		// Dedupe on r.Header.Get(notify.NoticeIDHeader), handle body, then:
//		w.WriteHeader(http.StatusNoContent)
//	}
//
// # Sending
//
// A [Dispatcher] polls a [Store] for due notices and delivers them;
// [CheckURL] vets webhook URLs when tenants set them, and [NewSecret]
// makes their signing secrets.
package notify
