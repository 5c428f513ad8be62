package main

import (
	"cmp"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/parley-cc/parley/internal/audio"
	"github.com/parley-cc/parley/internal/server"
	voicesip "github.com/parley-cc/parley/internal/voice/sip"
)

// voiceSettings reads the media network settings from the environment:
// the public address (SIP and WebRTC) and the WebRTC engine's ports and
// limits.
func voiceSettings(cfg *server.Config) error {
	if v := os.Getenv("PARLEY_PUBLIC_IP"); v != "" {
		ip, err := netip.ParseAddr(v)
		if err != nil || ip.IsUnspecified() || ip.Zone() != "" {
			return fmt.Errorf("PARLEY_PUBLIC_IP: want an IP address, got %q", v)
		}
		cfg.PublicIP = ip
	}
	rtc := &cfg.WebRTC
	if v := os.Getenv("PARLEY_RTC_UDP_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("PARLEY_RTC_UDP_PORT: want a port 1-65535, got %q", v)
		}
		rtc.UDPPort = p
	}
	if v := os.Getenv("PARLEY_RTC_UDP_PORTS"); v != "" {
		lo, hi, ok := strings.Cut(v, "-")
		min, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		max, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
		if !ok || err1 != nil || err2 != nil || min < 1 || min > max {
			return fmt.Errorf("PARLEY_RTC_UDP_PORTS: want a range such as 40000-40999, got %q", v)
		}
		if rtc.UDPPort != 0 {
			return fmt.Errorf("PARLEY_RTC_UDP_PORTS and PARLEY_RTC_UDP_PORT: set one of them")
		}
		rtc.PortMin, rtc.PortMax = uint16(min), uint16(max)
	}
	switch v := env("PARLEY_RTC_LOOPBACK", "0"); v {
	case "0", "false":
	case "1", "true":
		if cfg.PublicIP.IsValid() {
			return fmt.Errorf("PARLEY_RTC_LOOPBACK=1 and PARLEY_PUBLIC_IP: loopback candidates would carry the public address")
		}
		rtc.Loopback = true
	default:
		return fmt.Errorf("PARLEY_RTC_LOOPBACK: want 0 or 1, got %q", v)
	}
	if v := os.Getenv("PARLEY_RTC_MAX_PEERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			return fmt.Errorf("PARLEY_RTC_MAX_PEERS: want a number from 1 to 100000, got %q", v)
		}
		rtc.MaxPeers = n
	}
	return nil
}

// turnSettings reads how SIP calls take turns: the end-of-turn rules, the
// jitter minimum, the recognizer engine and its decoders, the prompt
// cache. parley serve warms the recognizer at start.
func turnSettings(cfg *server.Config) error {
	v := &cfg.Voice
	v.Warm = true
	dur := func(name string, lo, hi time.Duration, dst *time.Duration) error {
		s := os.Getenv(name)
		if s == "" {
			return nil
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("%s: want a duration from %v to %v, got %q", name, lo, hi, s)
		}
		*dst = d
		return nil
	}
	if err := dur("PARLEY_VOICE_END_SILENCE", 200*time.Millisecond, 5*time.Second, &v.VAD.EndSilence); err != nil {
		return err
	}
	if err := dur("PARLEY_VOICE_GRAMMAR_SILENCE", 60*time.Millisecond, 2*time.Second, &v.VAD.GrammarSilence); err != nil {
		return err
	}
	if s := os.Getenv("PARLEY_VOICE_STABLE_SILENCE"); s == "off" {
		v.VAD.StableSilence = -1
	} else if err := dur("PARLEY_VOICE_STABLE_SILENCE", 60*time.Millisecond, 2*time.Second, &v.VAD.StableSilence); err != nil {
		return fmt.Errorf("%w (or off)", err)
	}
	if err := dur("PARLEY_VOICE_JITTER_MIN", 20*time.Millisecond, 200*time.Millisecond, &v.JitterMin); err != nil {
		return err
	}
	end := cmp.Or(v.VAD.EndSilence, voicesip.DefaultEndSilence)
	if g := cmp.Or(v.VAD.GrammarSilence, voicesip.DefaultGrammarSilence); g > end {
		return fmt.Errorf("PARLEY_VOICE_GRAMMAR_SILENCE (%v) is longer than PARLEY_VOICE_END_SILENCE (%v): the grammar rule would never end a turn first", g, end)
	}
	if st := cmp.Or(v.VAD.StableSilence, voicesip.DefaultStableSilence); st > end {
		return fmt.Errorf("PARLEY_VOICE_STABLE_SILENCE (%v) is longer than PARLEY_VOICE_END_SILENCE (%v): the stable-hypothesis rule would never end a turn first", st, end)
	}
	switch s := env("PARLEY_ASR", "auto"); s {
	case "auto", "library", "batch":
		v.ASR = s
	default:
		return fmt.Errorf("PARLEY_ASR: want auto, library or batch, got %q", s)
	}
	if s := os.Getenv("PARLEY_ASR_DECODERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 64 {
			return fmt.Errorf("PARLEY_ASR_DECODERS: want a number from 1 to 64, got %q", s)
		}
		v.ASRDecoders = n
	}
	if s := os.Getenv("PARLEY_VOICE_NICE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < -20 || n > 19 {
			return fmt.Errorf("PARLEY_VOICE_NICE: want a nice value from -20 to 19 (0: no thread of its own), got %q", s)
		}
		audio.MediaNice.Store(int32(n))
	}
	if s := os.Getenv("PARLEY_TTS_STORE_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 1<<20 {
			return fmt.Errorf("PARLEY_TTS_STORE_MB: want a number of MiB from 0 (prompts in memory only) to 1048576, got %q", s)
		}
		v.PromptStoreBytes = int64(n) << 20
		if n == 0 {
			v.PromptStoreBytes = -1
		}
	}
	if s := os.Getenv("PARLEY_TTS_CACHE_MB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 16384 {
			return fmt.Errorf("PARLEY_TTS_CACHE_MB: want a number of MiB from 0 (no cache) to 16384, got %q", s)
		}
		v.TTSCacheBytes = int64(n) << 20
		if n == 0 {
			v.TTSCacheBytes = -1
		}
	}
	return nil
}
