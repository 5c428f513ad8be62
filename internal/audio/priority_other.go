//go:build !linux

package audio

func setThreadNice(int) {}
