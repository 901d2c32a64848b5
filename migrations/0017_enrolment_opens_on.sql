-- «Набор открыт с»: the day a stream's enrolment opened, from which the
-- stream page counts who viewed the course programme. NULL means the default:
-- the day after the previous intake's start (the course's registered stream
-- with the latest start date before this one's).
ALTER TABLE stream_registry ADD COLUMN enrolment_opens_on DATE;
