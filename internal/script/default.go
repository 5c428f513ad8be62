package script

// DefaultScript is run (from "main") for a dialog whose agent has no script
// of its own, so that a misconfigured agent still behaves politely instead
// of calling people in silence. It greets the callee by the "name" entity
// when there is one ("Hello, Ann."), says what it is, listens for up to five
// seconds, stores a non-empty answer in the output entity "answer" when the
// agent has one, and hangs up.
const DefaultScript = `def main(s):
    name = s.entities.get("name", "")
    if name:
        s.say("Hello, %s." % name)
    else:
        s.say("Hello.")
    s.say("This is an automated assistant. How can I help you?")
    answer = s.listen(timeout = 5)
    if answer and "answer" in s.output_names:
        s.set("answer", answer)
    s.hangup()
`
