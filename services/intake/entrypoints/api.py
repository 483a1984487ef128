"""Intake HTTP API: routes translate requests into orders, run them in a unit of work, answer.

Every route needs a bearer token of the participant's agency; another agency's participant
answers exactly like a missing one. Reads of a participant's data are written to the access log.
"""

from fastapi import APIRouter

from services.intake.entrypoints import assessments_api, consents_api, erasure_api, participants_api, referrals_api

router = APIRouter()
router.include_router(participants_api.router)
router.include_router(assessments_api.router)
router.include_router(consents_api.router)
router.include_router(referrals_api.router)
router.include_router(erasure_api.router)
