package detect

func grid(try func(string, func(*streamConfig))) {}
