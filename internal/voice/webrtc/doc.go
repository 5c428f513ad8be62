// Package webrtc is the browser side of Parley's calls: an operator talking
// to a callee from the console, a supervisor listening to a live call. It
// is github.com/pion/webrtc/v4 configured for telephone audio, and its
// peers are legs of package bridge.
//
// One Engine per node holds the settings (Config): PCMU (G.711 μ-law) is
// the only codec, so audio crosses between a SIP call and a browser
// without transcoding (a browser always offers PCMU beside Opus); the
// public address is written into every ICE host candidate (a 1:1 NAT, a
// cloud VM's public IP); media uses one UDP port for every peer (ICE
// demultiplexes) or a range of ports; loopback candidates are gathered
// only when asked (tests, a browser on the same machine). mDNS is off:
// the browser is the controlling ICE agent and checks our candidates, so
// its own (mDNS names when the page has no microphone permission) are not
// needed; it reaches us as a peer-reflexive candidate.
//
// Signalling is one HTTP request: ICE is not trickled. The page creates its
// offer, waits until its ICE gathering is complete, and posts the whole
// SDP; Engine.Answer (or AnswerListener for a receive-only supervisor)
// returns the whole answer once our own gathering is complete (host
// candidates only: milliseconds). A peer whose browser doesn't connect
// within Config.ConnectTimeout is closed; a peer ends (Done, Err) when
// the browser closes, ICE fails, or Close.
//
// Audio: OnAudio gets the browser's PCMU frames as they arrive (20 ms by
// default in Chromium); SendAudio sends a frame at once, numbering the
// stream itself (see SendAudio for gaps). A listener peer only sends: feed
// it sip.Conn.Tap, the mix of both sides of a call.
//
// # Chromium, as tested (chromium_test.go)
//
// A page on http://127.0.0.1 or https (getUserMedia needs a secure
// context) with:
//
//	const pc = new RTCPeerConnection();            // no iceServers
//	pc.addTrack(micTrack, micStream);               // or addTransceiver("audio", {direction: "recvonly"}) to listen
//	await pc.setLocalDescription(await pc.createOffer());
//	// wait for pc.iceGatheringState === "complete", then POST pc.localDescription.sdp
//	await pc.setRemoteDescription({type: "answer", sdp: answerText});
//
// To measure the remote audio with WebAudio, Chromium needs the remote
// stream attached to a playing media element too (a muted new Audio()
// with srcObject set), else the analyser reads silence.
//
// Headless Chromium in tests: --use-fake-ui-for-media-stream (grants the
// microphone), --use-fake-device-for-media-stream and
// --use-file-for-fake-audio-capture=FILE.wav (the microphone loops FILE;
// a 48 kHz mono 16-bit WAV from espeak-ng and sox), and
// --autoplay-policy=no-user-gesture-required (plays the remote audio and
// runs the AudioContext without a click). ICE: the engine gathered the
// machine's own address (Config.LocalIPs) and nothing else; an engine
// gathering only loopback (Config.Loopback with LocalIPs 127.0.0.1) also
// connected without --allow-loopback-in-peer-connection, because
// Chromium's own candidates were on a real interface (that flag is for a
// machine with loopback only). A receive-only page without microphone
// permission offers mDNS candidates only, and connects all the same.
package webrtc
