from nps_nlp.cli import app

app()
