package notify_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/contextlite/cloud/notify"
)

func ExampleSign() {
	body := []byte(`{"ok":true}`)
	fmt.Println(notify.Sign("whsec_example", time.Unix(1767225600, 0), body))
	// Output: t=1767225600,v1=f44b1639a603ca54a33202b91ef7d51d9531bae57ed6b7f30eab8835dc65d9e9
}

func ExampleVerify() {
	body := []byte(`{"ok":true}`)
	header := "t=1767225600,v1=f44b1639a603ca54a33202b91ef7d51d9531bae57ed6b7f30eab8835dc65d9e9"
	received := time.Unix(1767225600, 0).Add(3 * time.Second)
	fmt.Println(notify.Verify("whsec_example", header, body, 5*time.Minute, received))
	fmt.Println(notify.Verify("whsec_example", header, []byte(`{"ok":false}`), 5*time.Minute, received))
	fmt.Println(notify.Verify("whsec_example", header, body, 5*time.Minute, received.Add(time.Hour)))
	// Output:
	// <nil>
	// no matching signature
	// signature timestamp outside tolerance: t=1767225600 is 1h0m3s off, more than 5m0s
}

// A receiver checks a request's signature before it trusts the body.
func Example_receiver() {
	secret := os.Getenv("CONTEXTLITE_WEBHOOK_SECRET") // whsec_...
	http.HandleFunc("POST /hooks/contextlite", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err == nil {
			err = notify.Verify(secret, r.Header.Get(notify.SignatureHeader), body, 5*time.Minute, time.Now())
		}
		if err != nil {
			http.Error(w, "invalid signature", http.StatusBadRequest)
			return
		}
		// Dedupe on r.Header.Get(notify.NoticeIDHeader), handle body, then:
		w.WriteHeader(http.StatusNoContent)
	})
}
