package schemas

import (
	"os"
	"syscall"
)

// FaultPoint kills this process with SIGKILL when PIPELENS_FAULT names point:
// the crash tests use it to stop a load or a publication at an exact step, as a
// power cut or the OOM killer would. It does nothing otherwise.
func FaultPoint(point string) {
	if f := os.Getenv("PIPELENS_FAULT"); f != "" && f == point {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
