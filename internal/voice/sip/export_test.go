package sip

import "testing"

// Test helpers for the external tests of package sip_test.
var (
	SpeechWAV        = speechWAV
	StartBaresip     = startBaresip
	NeedPocketsphinx = needPocketsphinx
	LegRMS           = legRMS
	RequireTool      = requireTool
)

// Sipp UASes for the external tests.
var (
	StartSipp    = startSipp
	StartSippTCP = startSippTCP
)

func (s *sippUAS) Port() int         { return s.port }
func (s *sippUAS) Wait(t testing.TB) { s.wait(t) }
func (s *sippUAS) Output() string    { return s.out.String() }
