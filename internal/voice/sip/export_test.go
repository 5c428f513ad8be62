package sip

// Test helpers for the external tests of package sip_test.
var (
	SpeechWAV        = speechWAV
	StartBaresip     = startBaresip
	NeedPocketsphinx = needPocketsphinx
	LegRMS           = legRMS
	RequireTool      = requireTool
)
