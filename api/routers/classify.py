"""POST /v1/classify: themes, sentiment, urgency and routing for one or many answers (micro-batched)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import BatcherDep, ClassifyKey, SettingsDep
from api.errors import ApiError
from api.routers.common import ERRORS, check_batch, check_texts
from api.schemas.classify import ClassifyIn, ClassifyOut
from api.schemas.common import analysis_dict
from api.services.batcher import Item

router = APIRouter(prefix="/v1", tags=["classify"])


@router.post("/classify", response_model=ClassifyOut, responses={**ERRORS, 413: {"description": "too many answers"}})
async def classify(body: ClassifyIn, settings: SettingsDep, batcher: BatcherDep, _: ClassifyKey) -> ClassifyOut:
    """Classify answers: language, overall sentiment, themes with sentiment and evidence, urgency, routing.

    Concurrent requests are micro-batched into one encoder batch. Empty or emoji-only answers get
    language ``und`` and no themes.
    """
    check_batch(len(body.answers), settings.max_batch, "answers", "NPS_MAX_BATCH")
    problems = check_texts([a.text for a in body.answers], settings, "answers")
    if problems:
        raise ApiError(422, "answer text too long", problems)
    answers, model_id = await batcher.analyze([Item(a.text, a.score, a.lang) for a in body.answers])
    results = [{**analysis_dict(answer), "id": item.id, "metadata": item.metadata}
               for item, answer in zip(body.answers, answers, strict=True)]
    return ClassifyOut.model_validate({"model_id": model_id, "results": results})
