"""The LangGraph state machine: model -> tools -> judge -> model or END."""
