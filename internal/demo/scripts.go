package demo

// shopScript is the shop assistant's script, written for chat
// (s.channel == "chat"): it answers a few questions in a loop and hands
// the chat to the operators when asked for a person.
const shopScript = `def main(s):
    s.say("Hi! I am the demo shop's assistant. Ask me about orders, delivery or returns; type human to talk to a person.")
    for _ in range(20):
        q = (s.listen(timeout=300) or "").lower()
        if "human" in q or "person" in q or "operator" in q:
            s.say("Connecting you to a person. Please wait a moment.")
            s.transfer(reason="customer_asked")
        elif "return" in q:
            s.say("Returns are free within 30 days, sale items included.")
        elif "deliver" in q or "ship" in q:
            s.say("We deliver in 2 to 4 working days; shipping is free from 50 euros.")
        elif "order" in q:
            s.say("Orders ship within two working days and you get a tracking link by email.")
        else:
            s.say("I can tell you about orders, delivery and returns. Type human to talk to a person.")
    s.say("Let me find you a person.")
    s.transfer(reason="long_conversation")
`

// reminderScript is the voice agent's script: a payment reminder that
// fills will_pay from the callee's answer.
const reminderScript = `def main(s):
    name = s.entities.get("name", "there")
    debt = s.entities.get("debt", "")
    s.say("Hello " + name + ", this is the Parley demo calling about your balance" + (" of " + debt + " euros" if debt else "") + ". Will you pay it this week?")
    a = s.listen(timeout=5, expect=["yes", "no"])
    if a and "yes" in a.lower():
        s.set("will_pay", "true")
        s.say("Thank you. Goodbye.")
    elif a:
        s.set("will_pay", "false")
        s.say("I understand. A colleague will call you about a payment plan. Goodbye.")
    else:
        s.say("I could not hear you. We will call again. Goodbye.")
    s.hangup()
`
