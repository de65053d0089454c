"""What the agent can do (plain functions and the LangChain tools the LLM sees) and the evaluation
harness behind them."""
