// Package audio holds the audio artifacts of a call: PCM buffers, WAV files,
// the two-leg call recording and speech synthesis.
//
// The internal format is 8 kHz mono 16-bit PCM (Rate), the format G.711
// telephony decodes to, so a simulated call and a real SIP call produce
// the same recordings. Audio from elsewhere (espeak-ng prints 22050 Hz) is
// resampled to it at the edge.
package audio
