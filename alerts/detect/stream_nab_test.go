package detect

import (
	"context"
	"os"
	"testing"
)

// nabFloor is the standard-profile score the Stream detector reached on the
// full NAB corpus (68.60 standard, 58.08 reward_low_FP_rate, 73.90
// reward_low_FN_rate), minus a small margin.
const nabFloor = 67.6 // measured 68.60

func TestStreamNABScore(t *testing.T) {
	loadTestCorpus(t)
	res, err := RunNAB(context.Background(), nabDir, os.Getenv("NAB_RESULTS"), "pipelens", testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Standard(); got < nabFloor {
		t.Errorf("NAB standard score fell to %.2f, below %.2f: the alert engine will miss or over-report anomalies", got, nabFloor)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
