package sip

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

// Port is the UAS's SIP port (Wait and Output are voicetest.Sipp's).
func (s *sippUAS) Port() int { return s.port }
