package detect

import "time"

var zeroTime time.Time
